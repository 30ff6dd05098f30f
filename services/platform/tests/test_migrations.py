"""Every installed service: its migrations reach head and match its models, and it refuses to start on a
database that is not at head."""

from __future__ import annotations

import asyncio
import importlib
import uuid

import pytest

from devtools.embedded import create_database, database_url, drop_database
from kernel import migrations
from kernel.migrations import MigrationsNotAtHead
from kernel.service import ServiceSpec, discover_services

SERVICES = discover_services()


def _async_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def _create_app(spec: ServiceSpec, settings):
    module, _, name = spec.factory.partition(":")
    return getattr(importlib.import_module(module), name)(settings)


def test_services_are_discovered():
    assert "registry" in SERVICES
    for spec in SERVICES.values():
        assert spec.migrations.is_dir()
        assert migrations.heads(spec.migrations), f"{spec.title} has no migration"
        assert len(migrations.heads(spec.migrations)) == 1, f"{spec.title} has several migration heads"


@pytest.mark.parametrize("name", list(SERVICES))
def test_fresh_database_at_head_matches_models(name, service_database):
    spec = SERVICES[name]
    db = service_database(spec)  # created and upgraded to head
    url = _async_url(db.url)

    async def current() -> set[str]:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url)
        try:
            return await migrations.current_revisions(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(current()) == migrations.heads(spec.migrations)
    migrations.check(spec.migrations, url)  # raises when models and migrations disagree


@pytest.fixture
def bare_database(infra):
    """An empty database: no migration ever ran on it."""
    name = f"test_bare_{uuid.uuid4().hex[:10]}"
    asyncio.run(create_database(infra.server_url, name))
    yield database_url(infra.server_url, name)
    asyncio.run(drop_database(infra.server_url, name))


@pytest.mark.parametrize("name", list(SERVICES))
async def test_app_refuses_to_start_below_head(name, bare_database, infra):
    spec = SERVICES[name]
    settings = spec.load_settings(database_url=bare_database, kafka_bootstrap_servers=infra.bootstrap_servers)
    app = _create_app(spec, settings)
    started = False
    with pytest.raises(MigrationsNotAtHead):
        async with app.router.lifespan_context(app):
            started = True
    assert not started
