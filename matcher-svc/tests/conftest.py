"""Fixtures for matcher-svc tests: the matcher alone on a fresh database and topics of its own."""

from __future__ import annotations

import uuid

import pytest

from devtools.testing import running
from matcher_svc.main import create_app, service


@pytest.fixture
def matcher_settings(service_database, infra):
    # No scheduled audit: tests seed findings of their own, and audit when they mean to.
    return service_database(service).settings(
        infra, kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.", audit_every_hours=0
    )


@pytest.fixture
async def matcher(matcher_settings):
    async with running(create_app(matcher_settings)) as client:
        yield client
