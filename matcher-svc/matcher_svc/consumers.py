"""The matcher's consumer: apply every feed's events to the projection and queue who they touch for
the evaluator, in one transaction with the consumed event ids (kernel.consumer)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.consumer import IdempotentConsumer
from kernel.db import driver_connection
from kernel.events import CloudEvent
from kernel.service import Runtime
from matcher_svc import evaluator, projection


def consumers(runtime: Runtime) -> list[IdempotentConsumer]:
    async def handle(conn: AsyncConnection, events: list[CloudEvent]) -> None:
        pg = await driver_connection(conn)
        await evaluator.queue(pg, await projection.apply(pg, events))

    return [
        IdempotentConsumer(
            runtime.settings, runtime.db, name="projection", topics=list(projection.TOPICS_CONSUMED), handler=handle
        )
    ]
