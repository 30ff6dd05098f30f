"""registry-svc's consumer of cases.decisions: a revocation (撤销注册) keeps the person's bar, marks the
registration revoked with the bar's end and publishes it, in one transaction with the consumed event ids.

The bar is kept in `registration_bars`, so a later upload that still lists the certificate as active
cannot undo the revocation, and a new registration of the person during the bar is flagged (see bars.py).
"""

from __future__ import annotations

import uuid

import asyncpg

from kernel import outbox
from kernel.consumer import IdempotentConsumer
from kernel.events import RegistrationRevokedV1
from kernel.service import Runtime
from registry_svc import bars, events
from registry_svc.settings import RegistrySettings


async def apply_revocations(pg: asyncpg.Connection, revocations: list[RegistrationRevokedV1]) -> None:
    await bars.record_revocations(pg, revocations)
    change_id = uuid.uuid4()
    if await bars.keep_revoked(pg, change_id, [r.case_ref for r in revocations]):
        await outbox.queue_change_set(pg, events.REGISTRATIONS, change_id)


def consumers(runtime: Runtime[RegistrySettings]) -> list[IdempotentConsumer]:
    return [
        IdempotentConsumer(
            runtime.settings, runtime.db, name="decisions", handlers={RegistrationRevokedV1: apply_revocations}
        )
    ]
