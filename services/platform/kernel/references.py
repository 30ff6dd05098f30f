"""Printed reference numbers: KIND-REGION-YEAR-NNNNNN, unique and in order per prefix (案件编号 AJ-…, 投诉举报
登记编号 TS-… in case-svc, 核查编号 HC-… in registry-svc). A service that hands them out has a
`reference_counters (prefix text primary key, last integer)` table."""

from __future__ import annotations

import asyncpg


async def next_reference(pg: asyncpg.Connection, kind: str, region_code: str, year: int) -> str:
    """e.g. TS-150000-2024-000123, AJ-150102-2024-000007 or HC-150100-2024-000001, in the caller's transaction."""
    prefix = f"{kind}-{region_code}-{year}"
    number = await pg.fetchval(
        "INSERT INTO reference_counters (prefix, last) VALUES ($1, 1) "
        "ON CONFLICT (prefix) DO UPDATE SET last = reference_counters.last + 1 RETURNING last",
        prefix,
    )
    return f"{prefix}-{number:06d}"
