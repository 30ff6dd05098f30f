"""matcher-svc under the caller's region scope (the regions its gateway-signed credential states): findings,
person views and sweeps stay within them, campaign-wide actions need a caller who sees the whole province,
and a header claiming other regions changes nothing.

(The same end to end through the gateway, with tokens: gateway/tests.)"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from seeds import BAOTOU_PERSON, HOHHOT_PERSON, PEOPLE, seed

from devtools.testing import caller_headers

# What a caller inside the network might add, hoping a service still takes the region from a header.
FORGED_SCOPE = {"X-Region-Scope": "000000"}


async def test_findings_and_person_views_stay_within_the_callers_regions(matcher, matcher_settings) -> None:
    await seed(matcher_settings.database_url)
    hohhot, baotou = caller_headers(regions=["150100"]), caller_headers(regions=["150200"])

    async def persons_of_findings(headers: dict[str, str] | None = None, **params: str) -> set[str]:
        response = await matcher.get("/api/v1/matcher/findings", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {finding["person_ref"] for finding in response.json()["items"]}

    assert await persons_of_findings() == set(PEOPLE)
    assert await persons_of_findings(region_code="150200") == {BAOTOU_PERSON}
    assert await persons_of_findings(hohhot) == {HOHHOT_PERSON}
    assert await persons_of_findings(hohhot, region_code="150000") == {HOHHOT_PERSON}  # narrowed to the city
    # A filter on a region wholly outside the caller's is refused, clearly (not an empty page).
    outside = await matcher.get("/api/v1/matcher/findings", params={"region_code": "150200"}, headers=hohhot)
    assert outside.status_code == 403
    assert outside.json()["detail"] == [
        {"type": "forbidden", "msg": "the region is outside your regions", "loc": ["query", "region_code"]}
    ]

    for person_key, visible in ((HOHHOT_PERSON, 200), (BAOTOU_PERSON, 404)):
        response = await matcher.get(f"/api/v1/matcher/persons/{person_key}", headers=hohhot)
        assert response.status_code == visible, person_key
    view = await matcher.get(f"/api/v1/matcher/persons/{BAOTOU_PERSON}", headers=baotou)
    assert [finding["region_code"] for finding in view.json()["findings"]] == ["150202"]


async def test_a_forged_region_header_widens_nothing(matcher, matcher_settings) -> None:
    await seed(matcher_settings.database_url)
    forged = {**caller_headers(regions=["150100"]), **FORGED_SCOPE}
    response = await matcher.get("/api/v1/matcher/findings", params={"region_code": "000000"}, headers=forged)
    assert response.status_code == 200
    assert {finding["person_ref"] for finding in response.json()["items"]} == {HOHHOT_PERSON}
    assert (await matcher.get(f"/api/v1/matcher/persons/{BAOTOU_PERSON}", headers=forged)).status_code == 404
    everyone = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "000000"}, headers=forged)
    assert everyone.status_code == 403
    month = await matcher.put("/api/v1/matcher/review-month", json={"review_month": "2024-09"}, headers=forged)
    assert month.status_code == 403
    # The header alone, without a credential, is nobody.
    bare = await matcher.get("/api/v1/matcher/findings", headers=FORGED_SCOPE, auth=None)
    assert bare.status_code == 401 and bare.json()["detail"][0]["loc"] == ["header", "authorization"]


async def test_sweeps_and_the_review_month_stay_within_the_callers_regions(matcher) -> None:
    hohhot, baotou = caller_headers(regions=["150100"]), caller_headers(regions=["150200"])
    everyone = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "000000"}, headers=hohhot)
    assert everyone.status_code == 403
    other_city = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "150200"}, headers=hohhot)
    assert other_city.status_code == 403
    assert other_city.json()["detail"] == [
        {"type": "forbidden", "msg": "the region is outside your regions", "loc": ["body", "region_code"]}
    ]
    own = await matcher.post("/api/v1/matcher/sweeps", json={"region_code": "150102"}, headers=hohhot)
    assert own.status_code == 202
    sweep = own.json()["sweep_id"]
    assert (await matcher.get(f"/api/v1/matcher/sweeps/{sweep}", headers=hohhot)).status_code == 200
    elsewhere = await matcher.get(f"/api/v1/matcher/sweeps/{sweep}", headers=baotou)
    absent = await matcher.get(f"/api/v1/matcher/sweeps/{uuid.uuid4()}", headers=baotou)
    assert elsewhere.status_code == absent.status_code == 404
    assert elsewhere.json() == absent.json()  # worded alike: the answer says nothing of its existence

    month = {"review_month": "2024-09"}
    assert (await matcher.put("/api/v1/matcher/review-month", json=month, headers=hohhot)).status_code == 403
    province = caller_headers(regions=["150000"], role="province_admin")
    assert (await matcher.put("/api/v1/matcher/review-month", json=month, headers=province)).status_code == 202


async def test_progress_counts_the_findings_of_the_callers_regions_only(matcher, matcher_settings) -> None:
    """Findings in two cities: each city (and a county of it) counts its own, the province both; the latest
    audit shown is one the caller may follow."""
    await seed(matcher_settings.database_url)

    async def progress(regions: list[str], role: str = "city_officer") -> dict:
        response = await matcher.get(
            "/api/v1/matcher/progress", headers=caller_headers(regions=regions, role=role, scopes=["findings:read"])
        )
        assert response.status_code == 200, response.text
        return response.json()

    assert (await progress(["150100"]))["findings"] == {"open": 1}  # Hohhot: its own finding, not Baotou's
    assert (await progress(["150200"]))["findings"] == {"open": 1}
    assert (await progress(["150102"], "county_officer"))["findings"] == {"open": 1}  # the county of the finding
    assert (await progress(["150103"], "county_officer"))["findings"] == {}  # another county: nothing
    assert (await progress(["150100", "150200"]))["findings"] == {"open": 2}
    assert (await progress(["150000"], "province_admin"))["findings"] == {"open": 2}  # province-wide: all
    assert (await progress(["230000"], "province_admin"))["findings"] == {}  # another province
    unscoped = await matcher.get("/api/v1/matcher/progress")  # a service credential: everyone's
    assert unscoped.json()["findings"] == {"open": 2}

    baotou = caller_headers(regions=["150200"], scopes=["campaign:admin"])
    audit = await matcher.post("/api/v1/matcher/audits", json={"region_code": "150200"}, headers=baotou)
    assert audit.status_code == 202, audit.text
    assert (await progress(["150200"]))["last_audit"]["sweep_id"] == audit.json()["sweep_id"]
    assert (await progress(["150100"]))["last_audit"] is None  # Baotou's audit is not Hohhot's to follow
    assert (await progress(["150000"], "province_admin"))["last_audit"]["sweep_id"] == audit.json()["sweep_id"]
