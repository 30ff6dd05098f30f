"""Event contracts on the bus: the CloudEvents envelope, topics, and versioned payload models.

A published version is never edited; a change is a new model with a new `type` (…v2).
Payloads carry the pseudonym (`person_ref`), the masked ID and the name — never the ID number.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Topics:
    """Topic names (contract). Person-level topics share one partition count and are keyed by person_ref."""

    registry_units = "registry.units"
    registry_registrations = "registry.registrations"
    insurance_contributions = "insurance.contributions"
    insurance_person_status = "insurance.person-status"
    fund_deposits = "fund.deposits"
    matcher_findings = "matcher.findings"
    cases_decisions = "cases.decisions"

    all: ClassVar[tuple[str, ...]] = (
        registry_units,
        registry_registrations,
        insurance_contributions,
        insurance_person_status,
        fund_deposits,
        matcher_findings,
        cases_decisions,
    )


class EventPayload(BaseModel):
    """Base of every payload. Subclasses set `event_type` (the CloudEvents `type`) and `topic`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    topic: ClassVar[str]


class CloudEvent(BaseModel):
    """CloudEvents 1.0 structured-mode envelope, serialised as the Kafka message value."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    def payload(self, model: type[EventPayload]) -> EventPayload:
        if self.type != model.event_type:
            raise ValueError(f"event type {self.type} is not {model.event_type}")
        return model.model_validate(self.data)


CONTENT_TYPE_HEADER = ("content-type", b"application/cloudevents+json")


# --- registry -----------------------------------------------------------------------------


class UnitRecordedV1(EventPayload):
    """A unit (企业/单位) as the registry now holds it. Keyed by USCC."""

    event_type: ClassVar[str] = "cn.gov.construction.registry.unit.recorded.v1"
    topic: ClassVar[str] = Topics.registry_units

    uscc: str
    name: str
    former_names: list[str]
    kind: str
    head_office_uscc: str | None
    region_code: str
    batch_id: str | None


class RegistrationRecordedV1(EventPayload):
    """A registration (注册人员) as the registry now holds it. Keyed by person_ref."""

    event_type: ClassVar[str] = "cn.gov.construction.registry.registration.recorded.v1"
    topic: ClassVar[str] = Topics.registry_registrations

    person_ref: str
    masked_id: str
    name: str
    birth_date: date
    category: str
    specialty: str | None
    certificate_no: str
    seal_no: str | None
    unit_name: str
    unit_uscc: str | None
    region_code: str
    registered_on: date | None
    valid_until: date | None
    status: str
    batch_id: str | None


PAYLOAD_MODELS: dict[str, type[EventPayload]] = {
    model.event_type: model for model in (UnitRecordedV1, RegistrationRecordedV1)
}


def parse_payload(event: CloudEvent) -> EventPayload:
    """The typed payload of an event whose type this kernel knows."""
    return PAYLOAD_MODELS[event.type].model_validate(event.data)
