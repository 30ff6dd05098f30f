"""case-svc's consumer: findings from matcher.findings open or join cases, in one transaction with the
consumed event ids (kernel.consumer)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from case_svc.cases import intake
from kernel.consumer import IdempotentConsumer
from kernel.db import driver_connection
from kernel.events import CloudEvent, FindingRecordedV1
from kernel.service import Runtime


def consumers(runtime: Runtime) -> list[IdempotentConsumer]:
    async def handle(conn: AsyncConnection, events: list[CloudEvent]) -> None:
        await intake.apply_findings(await driver_connection(conn), events)

    return [
        IdempotentConsumer(
            runtime.settings, runtime.db, name="findings", topics=[FindingRecordedV1.topic], handler=handle
        )
    ]
