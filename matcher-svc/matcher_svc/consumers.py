"""The matcher's consumer: apply every feed's events to the projection and re-evaluate who they touch,
in one transaction with the consumed event ids (kernel.consumer)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.consumer import IdempotentConsumer
from kernel.db import driver_connection
from kernel.events import CloudEvent
from kernel.service import Runtime
from matcher_svc import evaluation, projection
from matcher_svc.policy import MatcherSettings, current_policy


def consumers(runtime: Runtime) -> list[IdempotentConsumer]:
    settings: MatcherSettings = runtime.settings  # type: ignore[assignment]

    async def handle(conn: AsyncConnection, events: list[CloudEvent]) -> None:
        pg = await driver_connection(conn)
        touched = await projection.apply(pg, events)
        await evaluation.evaluate_people(pg, touched, await current_policy(pg, settings))

    return [
        IdempotentConsumer(
            runtime.settings, runtime.db, name="projection", topics=list(projection.TOPICS_CONSUMED), handler=handle
        )
    ]
