"""matcher-svc under the gateway's region scope (`X-Region-Scope`): findings, person views and sweeps stay
within the caller's regions, and campaign-wide actions need a caller who sees the whole province.

(The same end to end through the gateway, with tokens: gateway/tests.)"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from devtools.testing import running
from matcher_svc.main import create_app, service

HOHHOT = {"X-Region-Scope": "150100"}
BAOTOU = {"X-Region-Scope": "150200"}
# One person registered in each city, each with a finding there.
HOHHOT_PERSON, BAOTOU_PERSON = "h" * 26, "b" * 26
PEOPLE = {HOHHOT_PERSON: "150102", BAOTOU_PERSON: "150202"}


@pytest.fixture
def matcher_settings(service_database, infra):
    return service_database(service).settings(infra, kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.")


@pytest.fixture
async def matcher(matcher_settings):
    async with running(create_app(matcher_settings)) as client:
        yield client


async def seed(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for person_key, region in PEOPLE.items():
            await conn.execute(
                "INSERT INTO people (person_key, masked_id, name) VALUES ($1, '150102**********34', '测试')", person_key
            )
            await conn.execute(
                "INSERT INTO registrations (category, certificate_no, person_key, unit_name, unit_name_norm, "
                "region_code, status) VALUES ('constructor_2', $1, $1, '某公司', '某公司', $2, 'active')",
                person_key,
                region,
            )
            await conn.execute(
                "INSERT INTO findings (finding_id, person_key, rule, status, severity, region_code, masked_id, name, "
                "review_month, evidence, rule_set_version, change_id) VALUES (gen_random_uuid(), $1, 'SI_NONE', "
                "'open', 'high', $2, '150102**********34', '测试', '2024-10', '{}', '2026.1', gen_random_uuid())",
                person_key,
                region,
            )
    finally:
        await conn.close()


async def test_findings_and_person_views_stay_within_the_callers_regions(matcher, matcher_settings) -> None:
    await seed(matcher_settings.database_url)

    async def persons_of_findings(headers: dict[str, str] | None = None, **params: str) -> set[str]:
        response = await matcher.get("/api/v1/matcher/findings", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {finding["person_ref"] for finding in response.json()["items"]}

    assert await persons_of_findings() == set(PEOPLE)
    assert await persons_of_findings(region_code="150200") == {BAOTOU_PERSON}
    assert await persons_of_findings(HOHHOT) == {HOHHOT_PERSON}
    assert await persons_of_findings(HOHHOT, region_code="150200") == set()

    for person_key, visible in ((HOHHOT_PERSON, 200), (BAOTOU_PERSON, 404)):
        response = await matcher.get(f"/api/v1/matcher/persons/{person_key}", headers=HOHHOT)
        assert response.status_code == visible, person_key
    view = await matcher.get(f"/api/v1/matcher/persons/{BAOTOU_PERSON}", headers=BAOTOU)
    assert [finding["region_code"] for finding in view.json()["findings"]] == ["150202"]


async def test_sweeps_and_the_review_month_stay_within_the_callers_regions(matcher) -> None:
    everyone = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "000000"}, headers=HOHHOT)
    assert everyone.status_code == 403
    baotou = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "150200"}, headers=HOHHOT)
    assert baotou.status_code == 403
    own = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "150102"}, headers=HOHHOT)
    assert own.status_code == 202
    sweep = own.json()["sweep_id"]
    assert (await matcher.get(f"/api/v1/matcher/sweeps/{sweep}", headers=HOHHOT)).status_code == 200
    assert (await matcher.get(f"/api/v1/matcher/sweeps/{sweep}", headers=BAOTOU)).status_code == 404

    month = {"review_month": "2024-09"}
    assert (await matcher.put("/api/v1/matcher/review-month", json=month, headers=HOHHOT)).status_code == 403
    assert (
        await matcher.put("/api/v1/matcher/review-month", json=month, headers={"X-Region-Scope": "150000"})
    ).status_code == 202
