"""insurance-svc under the caller's region scope (the regions its gateway-signed credential states): statuses
(which carry no region) need a province-wide caller, a person's evidence is visible only when some of their
contributions are in the caller's regions, and a header claiming other regions changes nothing."""

from __future__ import annotations

import orjson

from devtools.feeds import JSON, person_key
from devtools.synthetic import generate_province
from devtools.testing import caller_headers

API = "/api/v1/insurance"
# What a caller inside the network might add, hoping a service still takes the region from a header.
FORGED_SCOPE = {"X-Region-Scope": "000000"}


async def test_statuses_need_a_province_wide_caller_and_evidence_follows_contributions(insurance) -> None:
    province = generate_province(people=20, seed=11, review_month="2024-10")
    paying = {c["id_number"] for c in province.contributions}
    person = next(r for r in province.registrations if r["id_number"] in paying)
    contributions = [
        dict(c, region_code="150102") for c in province.contributions if c["id_number"] == person["id_number"]
    ]
    assert contributions
    status = orjson.dumps([{"id_number": person["id_number"], "name": person["name"], "status": "retired"}])
    hohhot = caller_headers(regions=["150100"])

    for city in (hohhot, {**hohhot, **FORGED_SCOPE}):
        refused = await insurance.post(f"{API}/person_statuses", content=status, headers={**JSON, **city})
        assert refused.status_code == 403 and refused.json()["detail"][0]["type"] == "forbidden"
    bare = await insurance.post(f"{API}/person_statuses", content=status, headers={**JSON, **FORGED_SCOPE}, auth=None)
    assert bare.status_code == 401
    province_wide = caller_headers(regions=["150000"])
    accepted = await insurance.post(f"{API}/person_statuses", content=status, headers={**JSON, **province_wide})
    assert accepted.status_code == 201
    sent = await insurance.post(f"{API}/contributions", content=orjson.dumps(contributions), headers=JSON)
    assert sent.status_code == 201 and sent.json()["rejected"] == 0

    ref = person_key(person["id_number"])
    baotou = caller_headers(regions=["150200"])
    for records in ("contributions", "person_statuses"):
        path = f"{API}/persons/{ref}/{records}"
        assert (await insurance.get(path, headers=hohhot)).status_code == 200, records
        assert (await insurance.get(path, headers=baotou)).status_code == 404, records
        assert (await insurance.get(path, headers={**baotou, **FORGED_SCOPE})).status_code == 404, records
        assert (await insurance.get(path)).status_code == 200, records
