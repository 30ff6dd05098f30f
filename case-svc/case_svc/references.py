"""Registration numbers handed out to cases and complaints: KIND-REGION-YEAR-NNNNNN, unique, in order per prefix."""

from __future__ import annotations

import asyncpg


async def next_reference(pg: asyncpg.Connection, kind: str, region_code: str, year: int) -> str:
    """e.g. TS-150000-2024-000123 (投诉举报) or AJ-150102-2024-000007 (案件), in the caller's transaction."""
    prefix = f"{kind}-{region_code}-{year}"
    number = await pg.fetchval(
        "INSERT INTO reference_counters (prefix, last) VALUES ($1, 1) "
        "ON CONFLICT (prefix) DO UPDATE SET last = reference_counters.last + 1 RETURNING last",
        prefix,
    )
    return f"{prefix}-{number:06d}"
