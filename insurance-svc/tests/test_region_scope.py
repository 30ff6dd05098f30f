"""insurance-svc under the gateway's region scope: statuses (which carry no region) need a province-wide
caller, and a person's evidence is visible only when some of their contributions are in the caller's regions."""

from __future__ import annotations

import orjson

from devtools.feeds import JSON, person_key
from devtools.synthetic import generate_province

API = "/api/v1/insurance"


async def test_statuses_need_a_province_wide_caller_and_evidence_follows_contributions(insurance) -> None:
    province = generate_province(people=20, seed=11, review_month="2024-10")
    paying = {c["id_number"] for c in province.contributions}
    person = next(r for r in province.registrations if r["id_number"] in paying)
    contributions = [
        dict(c, region_code="150102") for c in province.contributions if c["id_number"] == person["id_number"]
    ]
    assert contributions
    status = [{"id_number": person["id_number"], "name": person["name"], "status": "retired"}]

    city = await insurance.post(
        f"{API}/person_statuses", content=orjson.dumps(status), headers={**JSON, "X-Region-Scope": "150100"}
    )
    assert city.status_code == 403 and city.json()["detail"][0]["type"] == "forbidden"
    province_wide = await insurance.post(
        f"{API}/person_statuses", content=orjson.dumps(status), headers={**JSON, "X-Region-Scope": "150000"}
    )
    assert province_wide.status_code == 201
    sent = await insurance.post(f"{API}/contributions", content=orjson.dumps(contributions), headers=JSON)
    assert sent.status_code == 201 and sent.json()["rejected"] == 0

    ref = person_key(person["id_number"])
    for records in ("contributions", "person_statuses"):
        path = f"{API}/persons/{ref}/{records}"
        assert (await insurance.get(path, headers={"X-Region-Scope": "150100"})).status_code == 200, records
        assert (await insurance.get(path, headers={"X-Region-Scope": "150200"})).status_code == 404, records
        assert (await insurance.get(path)).status_code == 200, records
