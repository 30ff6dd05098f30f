"""matcher-svc under the gateway's region scope: campaign-wide actions need a caller who sees the region.

(Findings and person views per region are checked end to end through the gateway: gateway/tests.)"""

from __future__ import annotations

import uuid

import pytest

from devtools.testing import running
from matcher_svc.main import create_app, service


@pytest.fixture
def matcher_settings(service_database, infra):
    return service_database(service).settings(infra, kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.")


@pytest.fixture
async def matcher(matcher_settings):
    async with running(create_app(matcher_settings)) as client:
        yield client


async def test_sweeps_and_the_review_month_stay_within_the_callers_regions(matcher) -> None:
    hohhot = {"X-Region-Scope": "150100"}
    everyone = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "000000"}, headers=hohhot)
    assert everyone.status_code == 403
    baotou = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "150200"}, headers=hohhot)
    assert baotou.status_code == 403
    own = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "150102"}, headers=hohhot)
    assert own.status_code == 202
    sweep = own.json()["sweep_id"]
    assert (await matcher.get(f"/api/v1/matcher/sweeps/{sweep}", headers=hohhot)).status_code == 200
    assert (
        await matcher.get(f"/api/v1/matcher/sweeps/{sweep}", headers={"X-Region-Scope": "150200"})
    ).status_code == 404

    month = {"review_month": "2024-09"}
    assert (await matcher.put("/api/v1/matcher/review-month", json=month, headers=hohhot)).status_code == 403
    assert (
        await matcher.put("/api/v1/matcher/review-month", json=month, headers={"X-Region-Scope": "150000"})
    ).status_code == 202

    findings = await matcher.get("/api/v1/matcher/findings", params={"region_code": "150200"}, headers=hohhot)
    assert findings.status_code == 200 and findings.json() == {"items": [], "next_cursor": None}
