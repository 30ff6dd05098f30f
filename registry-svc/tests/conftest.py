"""Fixtures for registry-svc tests: a fresh registry database and the app running on it."""

from __future__ import annotations

import pytest

from devtools.testing import running
from registry_svc.main import create_app, service


@pytest.fixture
def registry_db(service_database):
    return service_database(service)


@pytest.fixture
async def registry(registry_db, infra):
    """A client of registry-svc running in-process with its outbox relay."""
    async with running(create_app(registry_db.settings(infra))) as client:
        yield client
