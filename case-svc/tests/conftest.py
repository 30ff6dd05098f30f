"""Fixtures for case-svc tests: a fresh case database on topics of its own, the app running on it, a bus."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from case_svc.main import create_app, service
from devtools.testing import running

sys.path.insert(0, str(Path(__file__).parent))

from case_helpers import Bus


@pytest.fixture
def case_settings(service_database, infra):
    return service_database(service).settings(infra, kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.")


@pytest.fixture
def case_db(case_settings):
    return case_settings.database_url


@pytest.fixture
async def cases(case_settings):
    """A client of case-svc running in-process with its consumer and outbox relay."""
    async with running(create_app(case_settings)) as client:
        yield client


@pytest.fixture
def bus(case_settings):
    return Bus(case_settings)
