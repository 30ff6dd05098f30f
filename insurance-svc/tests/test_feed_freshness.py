"""The feeds' freshness in insurance-svc (ingest.api, as in every data service; registry-svc's tests cover the
regions, filters and paging): person statuses, which carry no region, are listed under the regions of the
province-wide client that sent them; a retracted batch is no longer anyone's latest."""

from __future__ import annotations

import orjson

from devtools.feeds import JSON
from devtools.synthetic import generate_province
from devtools.testing import caller_headers

API = "/api/v1/insurance"
FRESHNESS = f"{API}/feeds/freshness"


def _centre() -> dict[str, str]:
    return {**caller_headers(regions=["150000", "230000"], role="insurance_feed", actor="nm-shebao"), **JSON}


async def test_statuses_under_the_clients_regions_and_retraction(insurance) -> None:
    province = generate_province(people=12, seed=4, months=1)
    contributions = [dict(c, region_code="150102") for c in province.contributions[:6]]
    person = province.registrations[0]
    statuses = [{"id_number": person["id_number"], "name": person["name"], "status": "retired"}]

    paid = await insurance.post(f"{API}/contributions", content=orjson.dumps(contributions), headers=_centre())
    assert paid.status_code == 201 and paid.json()["accepted"] == 6, paid.text
    told = await insurance.post(f"{API}/person_statuses", content=orjson.dumps(statuses), headers=_centre())
    assert told.status_code == 201 and told.json()["accepted"] == 1, told.text

    items = (await insurance.get(FRESHNESS)).json()["items"]
    assert [(i["feed"], i["client_id"], i["region_code"], i["rows"]) for i in items] == [
        ("contributions", "nm-shebao", "150102", 6),
        ("person_statuses", "nm-shebao", "150000", 1),
        ("person_statuses", "nm-shebao", "230000", 1),
    ]
    # A Hohhot officer sees the city's contributions, not the province-wide statuses.
    hohhot = (await insurance.get(FRESHNESS, headers=caller_headers(regions=["150100"]))).json()["items"]
    assert [i["feed"] for i in hohhot] == ["contributions"]

    retracted = await insurance.post(f"{API}/batches/{paid.json()['batch_id']}/retract")
    assert retracted.status_code == 200, retracted.text
    after = (await insurance.get(FRESHNESS, params={"feed": "contributions"})).json()
    assert after == {"items": [], "next_cursor": None}
