"""case-svc's consumers, each applying a batch in one transaction with the consumed event ids
(kernel.consumer): findings from matcher.findings open or join cases; registry.registrations keeps the
register the summary table counts people checked from."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from case_svc.cases import intake
from case_svc.register import service as register_service
from kernel.consumer import IdempotentConsumer
from kernel.db import driver_connection
from kernel.events import CloudEvent, FindingRecordedV1, RegistrationRecordedV1
from kernel.service import Runtime


def consumers(runtime: Runtime) -> list[IdempotentConsumer]:
    async def findings(conn: AsyncConnection, events: list[CloudEvent]) -> None:
        await intake.apply_findings(await driver_connection(conn), events)

    async def registrations(conn: AsyncConnection, events: list[CloudEvent]) -> None:
        await register_service.apply_registrations(await driver_connection(conn), events)

    return [
        IdempotentConsumer(runtime.settings, runtime.db, name="findings", topics=[FindingRecordedV1.topic], handler=findings),
        IdempotentConsumer(
            runtime.settings, runtime.db, name="registrations", topics=[RegistrationRecordedV1.topic], handler=registrations
        ),
    ]
