"""Fixtures for fund-svc tests: a fresh fund database and the app running on it."""

from __future__ import annotations

import pytest

from devtools.testing import running
from fund_svc.main import create_app, service


@pytest.fixture
def fund_db(service_database):
    return service_database(service)


@pytest.fixture
async def fund(fund_db, infra):
    """A client of fund-svc running in-process with its outbox relay."""
    async with running(create_app(fund_db.settings(infra))) as client:
        yield client
