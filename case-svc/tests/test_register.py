"""The register keeps a certificate with the state the registry wrote last, whatever order its states arrive in: a
certificate corrected from one holder to another is published under each (registrations are keyed by their
holder), so its two states travel in two partitions, and the registry's revision tells them apart."""

from __future__ import annotations

import asyncpg
import pytest
from case_helpers import registration

from case_svc.main import service
from case_svc.register.service import apply_registrations

CERTIFICATE = "蒙2150000801"
FIRST_HOLDER, HOLDER = "a" * 26, "b" * 26


@pytest.fixture
def case_db(service_database) -> str:
    return service_database(service).url


async def _held(pg: asyncpg.Connection) -> tuple:
    row = await pg.fetchrow(
        "SELECT person_ref, region_code, status, revision FROM registrations WHERE certificate_no = $1", CERTIFICATE
    )
    return tuple(row)


async def test_an_older_state_consumed_after_a_newer_one_does_not_replace_it(case_db):
    first = registration(FIRST_HOLDER, "150102", CERTIFICATE).model_copy(update={"revision": 4})
    corrected = registration(HOLDER, "150203", CERTIFICATE).model_copy(update={"revision": 9})
    pg = await asyncpg.connect(case_db)
    try:
        await apply_registrations(pg, [corrected])  # the correction's partition first
        await apply_registrations(pg, [first])
        assert await _held(pg) == (HOLDER, "150203", "active", 9)
        # The same state again (a replay keeps its revision) is taken, and so is a later one.
        await apply_registrations(pg, [corrected])
        assert await _held(pg) == (HOLDER, "150203", "active", 9)
        cancelled = registration(HOLDER, "150203", CERTIFICATE, status="cancelled").model_copy(update={"revision": 12})
        await apply_registrations(pg, [cancelled])
        assert await _held(pg) == (HOLDER, "150203", "cancelled", 12)
    finally:
        await pg.close()
