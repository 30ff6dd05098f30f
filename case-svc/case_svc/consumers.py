"""case-svc's consumers, each applying a batch in one transaction with the consumed event ids
(kernel.consumer): findings from matcher.findings open or join cases; registry.registrations keeps the
register the summary table counts people checked from."""

from __future__ import annotations

from case_svc.cases import intake
from case_svc.register import service as register_service
from case_svc.settings import CaseSettings
from kernel.consumer import IdempotentConsumer
from kernel.events import FindingRecordedV1, RegistrationRecordedV1
from kernel.service import Runtime


def consumers(runtime: Runtime[CaseSettings]) -> list[IdempotentConsumer]:
    return [
        IdempotentConsumer(
            runtime.settings, runtime.db, name="findings", handlers={FindingRecordedV1: intake.apply_findings}
        ),
        IdempotentConsumer(
            runtime.settings,
            runtime.db,
            name="registrations",
            handlers={RegistrationRecordedV1: register_service.apply_registrations},
        ),
    ]
