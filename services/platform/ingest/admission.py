"""What an upload may keep beyond the validity of its rows: a per-upload decision the pipeline applies to each
valid row as it is read (data minimisation, ingest.check_requests), and what keeping the rows records."""

from __future__ import annotations

from typing import Protocol

import asyncpg

from ingest.feeds import BatchContext, Problem, Row


class Admission(Protocol):
    def refuses(self, row: Row) -> Problem | None:
        """Why a valid, prepared row may not be kept (the problem its receipt states), or None to keep it."""
        ...

    async def record(self, pg: asyncpg.Connection, batch: BatchContext) -> None:
        """Runs once the upload's rows are stored, in the batch's savepoint (undone with it)."""
        ...
