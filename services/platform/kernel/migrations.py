"""Per-service Alembic support: the shared env.py body, upgrade, and the start-up check against head."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from kernel.settings import ServiceSettings


class MigrationsNotAtHead(RuntimeError):
    pass


def alembic_config(migrations_dir: Path, async_database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", async_database_url.replace("%", "%%"))
    # Dated, descriptive file names: 20261122_1a2b3c_create_registrations.py
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(migrations_dir: Path, async_database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations_dir, async_database_url), revision)


def check(migrations_dir: Path, async_database_url: str) -> None:
    """Fails when the models have changes that no migration records (alembic check)."""
    command.check(alembic_config(migrations_dir, async_database_url))


def heads(migrations_dir: Path) -> set[str]:
    return set(ScriptDirectory(str(migrations_dir)).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: set(MigrationContext.configure(sync).get_current_heads()))


async def assert_at_head(engine: AsyncEngine, migrations_dir: Path) -> None:
    current, expected = await current_revisions(engine), heads(migrations_dir)
    if current != expected:
        raise MigrationsNotAtHead(
            f"database is at {sorted(current) or 'no revision'}, code expects {sorted(expected)}; "
            "run `suite migrate <service>` first"
        )


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py (online, async engine)."""

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    # `suite migrate` passes the URL; the plain alembic CLI (writing migrations) reads DATABASE_URL.
    url = context.config.get_main_option("sqlalchemy.url") or ServiceSettings().async_database_url

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(online())
