"""The endpoints only the suite's own services and operators' tools call (a service credential is required,
kernel.credentials): what the outbox still holds, a replay of what the service publishes, and the events
its consumers set aside.

They live outside /api/v1, so the gateway never routes to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated

import asyncpg
import httpx
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from kernel.credentials import ServiceAuth
from kernel.deps import DbConnection, DbTransaction, RuntimeDep
from kernel.errors import Conflict, Invalid, NotFound
from kernel.outbox import ChangeStream, queue_change_set
from kernel.values import Since

OUTBOX_PATH = "/internal/outbox"
REPLAY_PATH = "/internal/replay"
PARKED_PATH = "/internal/parked"

# Queues a stream's current state (changed since a time, or all) for publishing again; returns a count.
Replayer = Callable[[asyncpg.Connection, datetime | None], Awaitable[int]]


def table_replayer(stream: ChangeStream, table: str | None = None) -> Replayer:
    """The replayer of a stream whose records live in one table (named after the stream unless given):
    it re-marks the records changed since a time (all without one) with a new change id and queues that
    change set. Their state, `updated_at` included, stays as it is, so a consumer that already applied
    them ends where it was."""

    async def replay(pg: asyncpg.Connection, since: datetime | None) -> int:
        change_id = uuid.uuid4()
        status = await pg.execute(
            f"UPDATE {table or stream.name} SET change_id = $1 WHERE $2::timestamptz IS NULL OR updated_at >= $2",
            change_id,
            since,
        )
        marked = int(status.split()[-1])  # "UPDATE <count>"
        if marked:
            await queue_change_set(pg, stream, change_id)
        return marked

    return replay


class ReplayRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"streams": None, "since": "2024-11-01T00:00:00+08:00"}]})

    streams: list[str] | None = Field(None, description="streams to re-publish; all when absent")
    since: Since | None = Field(None, description="only records changed since then; all when absent")


class ReplayResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"queued": {"units": 3120, "registrations": 48210}}]})

    queued: dict[str, int]


async def replay_streams(
    pg: asyncpg.Connection, replayers: Mapping[str, Replayer], request: ReplayRequest
) -> ReplayResult:
    """Queues the streams asked for (all when none is named) in the transaction of `pg`."""
    names = request.streams or list(replayers)
    unknown = [name for name in names if name not in replayers]
    if unknown:
        raise Invalid(f"unknown streams {unknown}; known: {list(replayers)}", loc=["body", "streams"])
    return ReplayResult(queued={name: await replayers[name](pg, request.since) for name in names})


class ParkedEvent(BaseModel):
    event_id: str
    consumer: str
    topic: str
    partition: int
    event_type: str
    error: str
    parked_at: datetime


def internal_router(service: str, *, publishes: bool, consumes: bool, replayers: Mapping[str, Replayer]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    if publishes:

        @router.get(OUTBOX_PATH)
        async def outbox_pending(pg: DbConnection) -> dict[str, object]:
            """Accepted but not yet published: what a downstream progress report waits for."""
            return {"service": service, "pending": await pg.fetchval("SELECT count(*) FROM outbox")}

    if replayers:

        @router.post(REPLAY_PATH, response_model=ReplayResult)
        async def replay(request: ReplayRequest, pg: DbTransaction) -> ReplayResult:
            """Re-publish current state (to rebuild a lost broker, or feed a new consumer)."""
            return await replay_streams(pg, replayers, request)

    if consumes:

        @router.get(PARKED_PATH, response_model=list[ParkedEvent])
        async def parked(pg: DbConnection) -> list[ParkedEvent]:
            """Events a consumer set aside after they failed on their own, oldest first."""
            rows = await pg.fetch(
                "SELECT event_id, consumer, topic, partition, event_type, error, parked_at FROM parked_events "
                "ORDER BY parked_at, event_id"
            )
            return [ParkedEvent.model_validate(dict(row)) for row in rows]

        @router.post(PARKED_PATH + "/{consumer}/{event_id}/retry")
        async def retry(
            consumer: Annotated[str, Path(max_length=64)],
            event_id: Annotated[str, Path(max_length=64)],
            runtime: RuntimeDep,
        ) -> dict[str, bool]:
            """Applies a parked event again; it leaves the list when it succeeds."""
            member = next((c for c in runtime.consumers if c.name == consumer), None)
            try:
                applied = member is not None and await member.retry_parked(event_id)
            except Exception as exc:
                raise Conflict(f"the event failed again ({type(exc).__name__}); it stays parked") from None
            if not applied:
                raise NotFound("no parked event with this reference", loc=["path", "event_id"])
            return {"applied": True}

    return router


def request_replays(urls: Sequence[str], service_secret: str, *, caller: str) -> dict[str, dict[str, int]]:
    """Asks each service at `urls` to re-publish what it owns (`REPLAY_PATH`), with a service credential;
    returns what each queued, by URL. Raises on the first service that refuses or cannot be reached.

    The bus as it was, from the databases that own its topics; idempotent consumers make it safe to
    repeat (`suite rebuild-bus`, and `suite up` after its embedded broker restarted)."""
    queued: dict[str, dict[str, int]] = {}
    with httpx.Client(timeout=600, auth=ServiceAuth(service_secret, caller)) as client:
        for url in urls:
            response = client.post(url.rstrip("/") + REPLAY_PATH, json={})
            response.raise_for_status()
            queued[url] = response.json()["queued"]
    return queued
