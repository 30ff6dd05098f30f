"""The matcher's consumer: apply every feed's events to the projection and queue who they touch for
the evaluation worker, in one transaction with the consumed event ids (kernel.consumer)."""

from __future__ import annotations

from typing import Any

import asyncpg

from kernel.consumer import IdempotentConsumer, PayloadHandler
from kernel.events import EventPayload
from kernel.service import Runtime
from matcher_svc import evaluation_worker, projection
from matcher_svc.policy import MatcherSettings


def _then_queue(apply: projection.Apply) -> PayloadHandler:
    async def handle(pg: asyncpg.Connection, payloads: list[Any]) -> None:
        await evaluation_worker.queue(pg, await apply(pg, payloads))

    return handle


# The projection's consumer: every feed, in the order projection.APPLY applies them.
PROJECTION_HANDLERS: dict[type[EventPayload], PayloadHandler] = {
    model: _then_queue(apply) for model, apply in projection.APPLY.items()
}


def consumers(runtime: Runtime[MatcherSettings]) -> list[IdempotentConsumer]:
    """The projection's group members in this instance (`projection_members`): members of one group, so the
    partitions, and so the people, are split between them as between instances."""
    return [
        IdempotentConsumer(runtime.settings, runtime.db, name="projection", handlers=PROJECTION_HANDLERS)
        for _ in range(runtime.settings.projection_members)
    ]
