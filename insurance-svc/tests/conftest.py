"""Fixtures for insurance-svc tests: a fresh insurance database and the app running on it."""

from __future__ import annotations

import pytest

from devtools.testing import running
from insurance_svc.main import create_app, service


@pytest.fixture
def insurance_db(service_database):
    return service_database(service)


@pytest.fixture
async def insurance(insurance_db, infra):
    """A client of insurance-svc running in-process with its outbox relay."""
    async with running(create_app(insurance_db.settings(infra))) as client:
        yield client
