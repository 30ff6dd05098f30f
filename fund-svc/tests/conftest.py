"""Fixtures for fund-svc tests: a fresh insurance database and the app running on it."""

from __future__ import annotations

import pytest

from fund_svc.main import create_app, service
from devtools.testing import running


@pytest.fixture
def fund_db(service_database):  # noqa: ANN001, ANN201
    return service_database(service)


@pytest.fixture
async def fund(fund_db, infra):  # noqa: ANN001, ANN201
    """A client of fund-svc running in-process with its outbox relay."""
    async with running(create_app(fund_db.settings(infra))) as client:
        yield client
