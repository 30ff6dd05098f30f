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
    # For a payload that states a record's current state: the fields naming the record, so that of
    # several payloads about one record in a batch only the latest need be applied. None for
    # payloads that are acts (a revocation, a granted exemption): each one counts.
    identity: ClassVar[tuple[str, ...] | None] = None
    # For a record whose states may travel in several partitions (its events are keyed by something else than
    # the record, so their order is not kept): the field whose larger value is the later state. None where a
    # record's states share a partition, so that the later one arrives later.
    ordered_by: ClassVar[str | None] = None


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


CONTENT_TYPE_HEADER = ("content-type", b"application/cloudevents+json")


# --- registry -----------------------------------------------------------------------------


class UnitV1(BaseModel):
    """A unit (企业/单位) as the registry holds it: the registry's API and its event carry these fields."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "uscc": "91150102MA0N1B2C35",
                    "name": "内蒙古恒泰建筑工程有限公司",
                    "former_names": ["呼和浩特市恒泰建筑有限责任公司"],
                    "kind": "enterprise",
                    "head_office_uscc": None,
                    "region_code": "150102",
                    "batch_id": "6d0c5b3e-8f2a-4c71-9e4b-2a7d1f0c9b38",
                }
            ]
        }
    )

    uscc: str
    name: str
    former_names: list[str]
    kind: str
    head_office_uscc: str | None
    region_code: str
    batch_id: str | None


class UnitRecordedV1(EventPayload, UnitV1):
    """A unit (企业/单位) as the registry now holds it. Keyed by USCC."""

    event_type: ClassVar[str] = "cn.gov.construction.registry.unit.recorded.v1"
    topic: ClassVar[str] = Topics.registry_units
    identity: ClassVar[tuple[str, ...] | None] = ("uscc",)


class RegistrationRecordedV1(EventPayload):
    """A registration (注册人员) as the registry now holds it. Keyed by person_ref: a certificate corrected from
    one holder to another travels in two partitions, and `revision` tells its states apart."""

    event_type: ClassVar[str] = "cn.gov.construction.registry.registration.recorded.v1"
    topic: ClassVar[str] = Topics.registry_registrations
    identity: ClassVar[tuple[str, ...] | None] = ("category", "certificate_no")
    ordered_by: ClassVar[str | None] = "revision"

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
    # Since issue 14 (the defaults keep earlier events valid): the specialties one by one (`specialty` joins
    # them with ";": a certificate listed on one row per specialty is one registration), and whether the
    # person's ID number fails its check character (accepted: the sending client's profile says so).
    specialties: list[str] = []
    id_checksum_failed: bool = False
    # Since 2026-12-04 (0 in events published before): the registry's revision of the certificate's row, larger
    # for every later write of it, whoever holds it; a consumer keeps the state with the largest.
    revision: int = 0


# --- insurance and fund: one event per person per batch, carrying the person's whole record --------
#
# A person-level event states everything the publishing service holds for that person (all months,
# retracted rows left out), so a consumer replaces its copy and a retraction corrects it.


_EXAMPLE_MONTH: dict[str, Any] = {
    "period": "2024-10",
    "unit_uscc": "91150105MA0P4Q5R60",
    "unit_name": "呼和浩特市金桥劳务有限公司",
    "region_code": "150105",
    "batch_id": "b2e4f6a8-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
}


class PaidMonthV1(BaseModel):
    """One paying unit in one month."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"examples": [_EXAMPLE_MONTH]})

    period: str  # YYYY-MM
    unit_uscc: str
    unit_name: str
    region_code: str
    batch_id: str  # the upload that last recorded it (evidence)


class ContributionMonthV1(PaidMonthV1):
    model_config = ConfigDict(json_schema_extra={"examples": [{**_EXAMPLE_MONTH, "insurance_types": ["01", "03"]}]})

    insurance_types: list[str]  # 01 pension … 05 maternity; several types are one paying unit


class ContributionsRecordedV1(EventPayload):
    """A person's social-insurance contributions (社保缴费) as insurance-svc now holds them."""

    event_type: ClassVar[str] = "cn.gov.construction.insurance.contributions.recorded.v1"
    topic: ClassVar[str] = Topics.insurance_contributions
    identity: ClassVar[tuple[str, ...] | None] = ("person_ref",)

    person_ref: str
    masked_id: str
    name: str
    months: list[ContributionMonthV1]
    id_checksum_failed: bool = False  # the ID number fails its check character (accepted by the client's profile)


class PersonStatusV1(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "retired", "since": "2023-06-01", "batch_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}
            ]
        },
    )

    status: str  # retired | early_retired | bought_out
    since: date | None
    batch_id: str


class PersonStatusRecordedV1(EventPayload):
    """A person's social-insurance status (退休, 提前退休, 买断社保) as insurance-svc now holds it."""

    event_type: ClassVar[str] = "cn.gov.construction.insurance.person-status.recorded.v1"
    topic: ClassVar[str] = Topics.insurance_person_status
    identity: ClassVar[tuple[str, ...] | None] = ("person_ref",)

    person_ref: str
    masked_id: str
    name: str
    statuses: list[PersonStatusV1]
    id_checksum_failed: bool = False  # the ID number fails its check character (accepted by the client's profile)


class DepositsRecordedV1(EventPayload):
    """A person's housing-fund deposits (公积金缴存) as fund-svc now holds them."""

    event_type: ClassVar[str] = "cn.gov.construction.fund.deposits.recorded.v1"
    topic: ClassVar[str] = Topics.fund_deposits
    identity: ClassVar[tuple[str, ...] | None] = ("person_ref",)

    person_ref: str
    masked_id: str
    name: str
    months: list[PaidMonthV1]
    id_checksum_failed: bool = False  # the ID number fails its check character (accepted by the client's profile)


# --- matcher and cases ----------------------------------------------------------------------

# Examples for the API descriptions (realistic, made up: the USCCs' check characters are right).
EXAMPLE_REGISTERED_UNIT: dict[str, Any] = {"name": "内蒙古恒泰建筑工程有限公司", "uscc": "91150102MA0N1B2C35"}
EXAMPLE_PAYING_UNIT: dict[str, Any] = {"name": "呼和浩特市金桥劳务有限公司", "uscc": "91150105MA0P4Q5R60"}
_EXAMPLE_PAID: dict[str, Any] = {
    "uscc": EXAMPLE_PAYING_UNIT["uscc"],
    "name": EXAMPLE_PAYING_UNIT["name"],
    "kind": "enterprise",
    "in_directory": True,
    "same": False,
    "how": "different",
    "branch": False,
    "types": ["01", "03"],
}
EXAMPLE_FINDING: dict[str, Any] = {
    "finding_id": "0f3a9c4e-2b1d-4e8a-9c7f-1d2e3f4a5b6c",
    "person_ref": "4f1c2a9b7d3e5f60718293a4b5",
    "masked_id": "150102**********34",
    "name": "张伟",
    "region_code": "150102",
    "rule": "SI_UNIT_MISMATCH",
    "status": "open",
    "exemption": None,
    "severity": "high",
    "review_month": "2024-10",
    "evidence": {
        "rule_set_version": "2026.1",
        "review_month": "2024-10",
        "masked_id": "150102**********34",
        "source": "insurance",
        "window": {"from": "2024-05", "to": "2024-10"},
        "months": ["2024-09", "2024-10"],
        "registered": [
            {
                **EXAMPLE_REGISTERED_UNIT,
                "resolved_uscc": EXAMPLE_REGISTERED_UNIT["uscc"],
                "resolved_by": "uscc",
                "category": "constructor_2",
                "certificate_no": "蒙215190300123",
                "registered_on": "2019-03-01",
                "region_code": "150102",
            }
        ],
        "paid": {"2024-09": [_EXAMPLE_PAID], "2024-10": [_EXAMPLE_PAID]},
        "hints": [],
        "batch_ids": ["6d0c5b3e-8f2a-4c71-9e4b-2a7d1f0c9b38", "b2e4f6a8-1c3d-4e5f-8a9b-0c1d2e3f4a5b"],
    },
    "rule_set_version": "2026.1",
    "first_seen": "2024-11-03T09:15:00+08:00",
    "updated_at": "2024-11-03T09:15:00+08:00",
    "registered_units": [EXAMPLE_REGISTERED_UNIT],
    "paying_units": [EXAMPLE_PAYING_UNIT],
}


class FindingUnitV1(BaseModel):
    """A unit a finding is about, by the name it appears under in the finding and its USCC (null: none known)."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [EXAMPLE_REGISTERED_UNIT]})

    name: str
    uscc: str | None


class FindingV1(BaseModel):
    """A finding as the integration contract states it: the matcher's API and its event carry these fields.

    `registered_units` and `paying_units` (added later, optional: an event without them is still a
    finding; both empty then) name the units the finding is about at the top level, as its evidence
    shows them: the units of the person's active registrations the rule looked at, and — for a rule
    about who pays (SI_/FUND_ mismatch and multiple units, PUBLIC_SECTOR_SI, HR_AGENCY_SI) — the units
    other than a registered one that paid in the months it looked at.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_FINDING]})

    finding_id: str
    person_ref: str
    masked_id: str
    name: str
    region_code: str
    rule: str
    status: Literal["open", "exempted", "cleared"]
    exemption: str | None
    severity: str
    review_month: str
    evidence: dict[str, Any]
    rule_set_version: str
    first_seen: datetime
    updated_at: datetime
    registered_units: list[FindingUnitV1] = Field(
        default_factory=list,
        description="the registered unit(s) the finding is about: name as registered, USCC as registered or as "
        "the name resolved to in the unit directory",
    )
    paying_units: list[FindingUnitV1] = Field(
        default_factory=list,
        description="for a rule about who pays: the units other than a registered one that paid (社保/公积金) "
        "in the months the rule looked at; empty for the other rules",
    )


class FindingRecordedV1(EventPayload, FindingV1):
    """A finding as the matcher now holds it (the integration contract's finding). Keyed by person_ref."""

    event_type: ClassVar[str] = "cn.gov.construction.matcher.finding.recorded.v1"
    topic: ClassVar[str] = Topics.matcher_findings
    identity: ClassVar[tuple[str, ...] | None] = ("finding_id",)


class ExemptionDecidedV1(EventPayload):
    """Case handling granted (or withdrew) an exemption for a person: the matcher applies it.

    `rule` None means every rule. Keyed by person_ref.
    """

    event_type: ClassVar[str] = "cn.gov.construction.cases.exemption.decided.v1"
    topic: ClassVar[str] = Topics.cases_decisions

    person_ref: str
    exemption: str
    rule: str | None
    granted: bool
    case_ref: str


class RegistrationRevokedV1(EventPayload):
    """Case handling confirmed 挂证 and the province revoked a registration (撤销注册): registry-svc marks it
    revoked and flags any new registration of the person before `barred_until` (3 years). Keyed by person_ref.

    Only for province-managed categories; a ministry-managed one is reported up instead (no event).
    """

    event_type: ClassVar[str] = "cn.gov.construction.cases.registration.revoked.v1"
    topic: ClassVar[str] = Topics.cases_decisions

    person_ref: str
    masked_id: str
    category: str
    certificate_no: str
    revoked_on: date
    barred_until: date
    authority: str
    case_ref: str


class CaseClosedV1(EventPayload):
    """A case was closed with its outcome (not_guazheng, self_corrected, confirmed). Keyed by person_ref."""

    event_type: ClassVar[str] = "cn.gov.construction.cases.case.closed.v1"
    topic: ClassVar[str] = Topics.cases_decisions

    person_ref: str
    case_ref: str
    region_code: str
    outcome: str
    closed_at: datetime
