"""Helpers of case-svc tests: synthetic findings and registrations as the matcher and the registry publish
them, a bus to publish them on, a person's case once the consumer has opened it, and officers of each
level (gateway-signed caller credentials) to take each step of a case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from case_svc.cases.service import today
from devtools.testing import caller_headers, eventually
from kernel.events import CloudEvent, FindingRecordedV1, RegistrationRecordedV1
from kernel.kafka import ensure_topics
from kernel.settings import ServiceSettings

# Synthetic people: pseudonyms and masked IDs only, never an ID number.
PERSON_A = "a" * 26
PERSON_B = "b" * 26


def finding(
    person_ref: str = PERSON_A,
    *,
    rule: str = "SI_UNIT_MISMATCH",
    status: str = "open",
    region_code: str = "150102",
    finding_id: str | None = None,
    category: str = "constructor_2",
    certificate_no: str = "蒙215000001",
    unit_name: str = "呼和浩特华建建设有限公司",
    unit_uscc: str | None = "91150100MA0000001X",
    payer: dict | None = None,
    updated_at: datetime | None = None,
    exemption: str | None = None,
    name: str = "测试人员",
) -> FindingRecordedV1:
    now = updated_at or datetime.now(UTC)
    payer = payer or {"uscc": "91150100MA0000002Y", "name": "包头某劳务有限公司", "kind": "enterprise", "same": False}
    return FindingRecordedV1(
        finding_id=finding_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{person_ref}/{rule}")),
        person_ref=person_ref,
        masked_id="150102**********34",
        name=name,
        region_code=region_code,
        rule=rule,
        status=status,
        exemption=exemption,
        severity="high",
        review_month="2024-10",
        evidence={
            "source": "insurance",
            "registered": [
                {
                    "name": unit_name,
                    "uscc": unit_uscc,
                    "resolved_uscc": unit_uscc,
                    "category": category,
                    "certificate_no": certificate_no,
                    "registered_on": "2023-05-01",
                    "region_code": region_code,
                }
            ],
            "paid": {"2024-09": [payer], "2024-10": [payer]},
        },
        rule_set_version="test",
        first_seen=now,
        updated_at=now,
    )


def registration(
    person_ref: str, region_code: str, certificate_no: str, *, status: str = "active", category: str = "constructor_2"
) -> RegistrationRecordedV1:
    """A registration as registry-svc publishes it (what the summary table counts people checked from)."""
    return RegistrationRecordedV1(
        person_ref=person_ref,
        masked_id="150102**********34",
        name="测试人员",
        birth_date="1980-01-01",
        category=category,
        specialty=None,
        certificate_no=certificate_no,
        seal_no=None,
        unit_name="呼和浩特华建建设有限公司",
        unit_uscc=None,
        region_code=region_code,
        registered_on="2023-05-01",
        valid_until=None,
        status=status,
        batch_id=None,
    )


class Bus:
    """Publishes events onto the test's own topics (its KAFKA_TOPIC_PREFIX)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings

    async def publish(self, *payloads: FindingRecordedV1 | RegistrationRecordedV1) -> None:
        topics = sorted({p.topic for p in payloads})
        await ensure_topics(self.settings, topics)
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            for payload in payloads:
                event = CloudEvent(
                    source="urn:guazheng:test",
                    type=payload.event_type,
                    subject=None,
                    data=payload.model_dump(mode="json"),
                )
                await producer.send_and_wait(
                    self.settings.topic(payload.topic),
                    event.model_dump_json().encode(),
                    key=payload.person_ref.encode(),
                )
        finally:
            await producer.stop()


async def cases_of(client, person_ref: str) -> list[dict]:
    """The person's cases, as the list answers them."""
    return (await client.get("/api/v1/cases", params={"person_ref": person_ref})).json()["items"]


async def case_of(client, person_ref: str = PERSON_A) -> dict:
    """The person's (first) case, in full, once the consumer has opened it."""

    async def opened() -> bool:
        return bool(await cases_of(client, person_ref))

    await eventually(opened, what="the person's case to open")
    summary = (await cases_of(client, person_ref))[0]
    return (await client.get(f"/api/v1/cases/{summary['case_id']}")).json()


def complaint(**overrides: object) -> dict:
    """A complaint as an officer registers it (about a unit of Inner Mongolia, received today)."""
    return {
        "channel": "phone",
        "received_on": str(today()),
        "region_code": "150000",
        "subject_unit_name": "呼和浩特华建建设有限公司",
        "content": "该公司项目经理长期不在岗",
    } | overrides


CASES = "/api/v1/cases"

# Officers by level: role, and the default actor (each level a different person).
LEVELS = {
    "county": ("county_officer", "officer-xincheng-01"),
    "city": ("city_officer", "officer-hohhot-01"),
    "province": ("province_admin", "officer-im-admin-01"),
}

# Who takes each step of a county's case (case-svc/README.md, "Who takes each step"); send-back and
# resume follow the step the case is at or returns to, and are given explicitly.
STEP_OWNERS = {
    "notice": "county",
    "answer": "county",
    "no-reply": "county",
    "county-review": "county",
    "city-review": "city",
    "decision": "province",
    "close": "province",
}


# The officers the tests give cases to, with their regions, as the gateway vouches for them in the credential
# of a request that names them (kernel.credentials `Caller.officers`): Xincheng's (150102), Hohhot's (150100), the
# province's (150000) and Baotou's (150200).
OFFICERS = {
    **dict.fromkeys(("zhangwei", "li", "wang", "zhang", "liu", "x", "officer-x"), ("150102",)),
    "zhao": ("150100",),
    "officer-0471-009": ("150000",),
    "officer-baotou-01": ("150200",),
}


def officer(level: str, region_code: str = "150102", *, actor: str | None = None) -> dict[str, str]:
    """Headers of a caller credential (fresh: they live a minute) for an officer of `level` whose region
    covers `region_code`: its county, its city, or its province."""
    role, default_actor = LEVELS[level]
    region = {"county": region_code, "city": region_code[:4] + "00", "province": region_code[:2] + "0000"}[level]
    return caller_headers(regions=[region], role=role, actor=actor or default_actor, officers=OFFICERS)


async def step(
    client,
    case_id: str,
    path: str,
    body: dict,
    *,
    by: str | None = None,
    region_code: str = "150102",
    expect: int = 200,
) -> dict:
    """Takes a step of the case (`path`: notice, answer, …) as an officer of the level that owns it (`by`
    names another), and its answer."""
    headers = officer(by or STEP_OWNERS[path], region_code)
    response = await client.post(f"{CASES}/{case_id}/{path}", json=body, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


async def walk_to_decision(client, case_id: str, answer: dict | None = None, *, region_code: str = "150102") -> dict:
    """Notice, answer, county and city review, each by its own level: the case is awaiting the decision."""
    await step(client, case_id, "notice", {"notice_ref": "呼建函〔2024〕12号"}, region_code=region_code)
    await step(
        client,
        case_id,
        "answer",
        answer or {"kind": "insurance_now_matches", "evidence_refs": ["社保缴费证明-001"]},
        region_code=region_code,
    )
    await step(
        client,
        case_id,
        "county-review",
        {"opinion": "核查属实", "proposed_outcome": "confirmed"},
        region_code=region_code,
    )
    return await step(client, case_id, "city-review", {"opinion": "同意"}, region_code=region_code)


async def timeline(client, case_id: str) -> list[dict]:
    """The case's timeline, every page of it."""
    return await every_item(client, f"{CASES}/{case_id}/timeline")


async def every_item(client, path: str, params: dict | None = None, headers: dict | None = None) -> list[dict]:
    """Every item of a list route (`{items, next_cursor}`), page after page."""
    items: list[dict] = []
    cursor = None
    while True:
        query = (params or {}) | ({"cursor": cursor} if cursor else {})
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}, page
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items
