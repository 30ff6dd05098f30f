"""Fixtures for matcher-svc tests: the matcher alone on a fresh database and topics of its own."""

from __future__ import annotations

import uuid

import pytest

from devtools.testing import running
from matcher_svc.main import create_app, service


@pytest.fixture
def matcher_settings(service_database, infra):
    return service_database(service).settings(infra, kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.")


@pytest.fixture
async def matcher(matcher_settings):
    async with running(create_app(matcher_settings)) as client:
        yield client
