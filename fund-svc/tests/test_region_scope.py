"""fund-svc under the caller's region scope (the regions its gateway-signed credential states): a feed sends
only rows of its regions, a person's deposits are visible only when some of them are in the caller's
regions, and a header claiming other regions changes nothing."""

from __future__ import annotations

import orjson

from devtools.feeds import JSON, person_key, tolerate_bad_rows
from devtools.synthetic import generate_province
from devtools.testing import caller_headers
from domain.records import RecordKind

API = "/api/v1/fund"
# What a caller inside the network might add, hoping a service still takes the region from a header.
FORGED_SCOPE = {"X-Region-Scope": "000000"}


async def test_deposits_follow_the_callers_regions_whatever_a_header_claims(fund) -> None:
    await tolerate_bad_rows(fund, API, RecordKind.deposits, client_id="test-officer")  # half the rows: Baotou's
    deposits = generate_province(people=20, seed=7, review_month="2024-10").deposits
    hohhot_person, baotou_person = sorted({d["id_number"] for d in deposits})[:2]
    rows = [dict(d, region_code="150102") for d in deposits if d["id_number"] == hohhot_person]
    rows += [dict(d, region_code="150203") for d in deposits if d["id_number"] == baotou_person]
    in_baotou = sum(1 for row in rows if row["region_code"] == "150203")
    assert in_baotou and len(rows) > in_baotou
    forged = {**caller_headers(regions=["150100"]), **FORGED_SCOPE}

    sent = await fund.post(f"{API}/deposits", content=orjson.dumps(rows), headers={**JSON, **forged})
    assert sent.status_code == 201
    receipt = sent.json()
    assert (receipt["accepted"], receipt["rejected"]) == (len(rows) - in_baotou, in_baotou)
    assert {e["code"] for e in receipt["errors"]} == {"out_of_scope"}
    bare = await fund.post(f"{API}/deposits", content=orjson.dumps(rows), headers={**JSON, **FORGED_SCOPE}, auth=None)
    assert bare.status_code == 401

    everywhere = await fund.post(f"{API}/deposits", content=orjson.dumps(rows), headers=JSON)
    assert everywhere.status_code == 201 and everywhere.json()["rejected"] == 0
    for person, visible in ((hohhot_person, 200), (baotou_person, 404)):
        view = await fund.get(f"{API}/persons/{person_key(person)}/deposits", headers=forged)
        assert view.status_code == visible
