"""The matcher's consumer: apply every feed's events to the projection and queue who they touch for
the evaluator, in one transaction with the consumed event ids (kernel.consumer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from kernel.consumer import IdempotentConsumer, PayloadHandler
from kernel.service import Runtime
from matcher_svc import evaluator, projection
from matcher_svc.policy import MatcherSettings


def _then_queue(apply: Callable[[asyncpg.Connection, Any], Awaitable[set[str]]]) -> PayloadHandler:
    async def handle(pg: asyncpg.Connection, payloads: list[Any]) -> None:
        await evaluator.queue(pg, await apply(pg, payloads))

    return handle


def consumers(runtime: Runtime[MatcherSettings]) -> list[IdempotentConsumer]:
    handlers = {model: _then_queue(apply) for model, apply in projection.APPLY.items()}
    return [IdempotentConsumer(runtime.settings, runtime.db, name="projection", handlers=handlers)]
