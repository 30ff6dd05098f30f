"""Keeping the register from `registry.registrations`: each event states a registration as the registry
now holds it, so applying a batch is one set-based upsert of the latest state per certificate."""

from __future__ import annotations

import asyncpg

from kernel.events import RegistrationRecordedV1


async def apply_registrations(pg: asyncpg.Connection, rows: list[RegistrationRecordedV1]) -> None:
    """`rows`: the latest state per certificate in the batch (the consumer keeps one per certificate). A
    certificate's states travel in its holders' partitions: one older than the state held (by the registry's
    revision) is not taken."""
    await pg.execute(
        "INSERT INTO registrations (category, certificate_no, person_ref, region_code, status, revision) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) "
        "ON CONFLICT (category, certificate_no) DO UPDATE SET (person_ref, region_code, status, revision) "
        "= ROW(excluded.person_ref, excluded.region_code, excluded.status, excluded.revision) "
        "WHERE registrations.revision <= excluded.revision",
        [r.category for r in rows],
        [r.certificate_no for r in rows],
        [r.person_ref for r in rows],
        [r.region_code for r in rows],
        [r.status for r in rows],
        [r.revision for r in rows],
    )
