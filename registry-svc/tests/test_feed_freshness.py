"""The feeds' freshness (`GET …/feeds/freshness`, ingest.api, the same in every data service): per feed, feed
client and region, the latest batch that stored rows of that region — a later batch replaces it only for the
regions it had, a batch refused whole or a dry run changes nothing; within the caller's regions (a region outside
them 403); paged like every list. (insurance-svc's tests: a feed without regions, a retracted batch.)"""

from __future__ import annotations

import orjson

from devtools.feeds import JSON, tolerate_bad_rows
from devtools.synthetic import generate_province
from devtools.testing import caller_headers
from domain.records import RecordKind

API = "/api/v1/registry"
FRESHNESS = f"{API}/feeds/freshness"


def _registrations() -> list[dict]:
    province = generate_province(people=30, seed=11, with_payments=False)
    rows = [dict(r, registered_on=None, valid_until=None) for r in province.registrations[:9]]
    for i, row in enumerate(rows):
        row["region_code"] = ("150102", "150103", "150203")[i % 3]
    return rows


ROWS = _registrations()


def _feed_client(actor: str, regions: list[str]) -> dict[str, str]:
    return {**caller_headers(regions=regions, role="registry_feed", actor=actor), **JSON}


async def _upload(registry, rows: list[dict], headers: dict[str, str], **params: str) -> dict:
    response = await registry.post(f"{API}/registrations", content=orjson.dumps(rows), headers=headers, params=params)
    assert response.status_code == 201, response.text
    return response.json()


def _by_key(items: list[dict]) -> dict[tuple[str, str, str], dict]:
    return {(i["feed"], i["client_id"], i["region_code"]): i for i in items}


async def test_the_latest_batch_of_each_client_per_region(registry) -> None:
    province, hohhot = _feed_client("nm-platform", ["150000"]), _feed_client("hohhot-platform", ["150100"])
    first = await _upload(registry, ROWS, province)
    assert (first["accepted"], first["rejected"]) == (9, 0)
    # The city's platform may send its own city only: its Baotou rows are rejected and counted nowhere.
    await tolerate_bad_rows(registry, API, RecordKind.registrations, client_id="hohhot-platform")
    mine = await _upload(registry, ROWS[:6], hohhot)
    assert (mine["accepted"], mine["rejected"]) == (4, 2)

    items = (await registry.get(FRESHNESS)).json()["items"]
    found = _by_key(items)
    assert set(found) == {
        ("registrations", "nm-platform", "150102"),
        ("registrations", "nm-platform", "150103"),
        ("registrations", "nm-platform", "150203"),
        ("registrations", "hohhot-platform", "150102"),
        ("registrations", "hohhot-platform", "150103"),
    }
    assert all(i["batch_id"] == first["batch_id"] for k, i in found.items() if k[1] == "nm-platform")
    assert [found[("registrations", "nm-platform", c)]["rows"] for c in ("150102", "150103", "150203")] == [3, 3, 3]
    assert {i["batch_rows"] for k, i in found.items() if k[1] == "hohhot-platform"} == {4}
    assert {i["status"] for i in items} == {"accepted", "partially_accepted"}
    assert found[("registrations", "hohhot-platform", "150102")]["status"] == "partially_accepted"

    # A later batch of the province's platform with Xincheng's rows only: the newest for Xincheng, not elsewhere.
    later = await _upload(registry, [r for r in ROWS if r["region_code"] == "150102"], province)
    # Neither a dry run nor a batch refused whole (every row outside the city) is a report.
    await _upload(registry, ROWS, province, dry_run="true")
    refused = await _upload(registry, [r for r in ROWS if r["region_code"] == "150203"], hohhot)
    assert refused["status"] == "rejected"
    again = _by_key((await registry.get(FRESHNESS)).json()["items"])
    assert set(again) == set(found)
    assert again[("registrations", "nm-platform", "150102")]["batch_id"] == later["batch_id"]
    assert (
        again[("registrations", "nm-platform", "150102")]["received_at"]
        > found[("registrations", "nm-platform", "150102")]["received_at"]
    )
    for region in ("150103", "150203"):
        assert again[("registrations", "nm-platform", region)] == found[("registrations", "nm-platform", region)]
    assert again[("registrations", "hohhot-platform", "150102")]["batch_id"] == mine["batch_id"]


async def test_the_callers_regions_and_the_filters(registry) -> None:
    await _upload(registry, ROWS, _feed_client("nm-platform", ["150000"]))
    units = [dict(u, region_code="150203", former_names=[]) for u in generate_province(people=5, seed=2).units[:2]]
    response = await registry.post(
        f"{API}/units", content=orjson.dumps(units), headers=_feed_client("nm-platform", ["150000"])
    )
    assert response.status_code == 201 and response.json()["accepted"] == 2

    officer = caller_headers(regions=["150100"])
    seen = (await registry.get(FRESHNESS, headers=officer)).json()
    assert {i["region_code"] for i in seen["items"]} == {"150102", "150103"} and seen["next_cursor"] is None
    county = (await registry.get(FRESHNESS, params={"region_code": "150103"}, headers=officer)).json()["items"]
    assert [i["region_code"] for i in county] == ["150103"]
    outside = await registry.get(FRESHNESS, params={"region_code": "150200"}, headers=officer)
    assert outside.status_code == 403 and outside.json()["detail"] == [
        {"type": "forbidden", "msg": "the region is outside your regions", "loc": ["query", "region_code"]}
    ]
    baotou = (await registry.get(FRESHNESS, params={"region_code": "150200", "feed": "units"})).json()["items"]
    assert [(i["feed"], i["region_code"], i["rows"]) for i in baotou] == [("units", "150203", 2)]

    # One page after another, each item once, in (feed, client, region) order.
    walked, cursor = [], None
    while True:
        page = (await registry.get(FRESHNESS, params={"limit": "1", **({"cursor": cursor} if cursor else {})})).json()
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 1
        walked += [(i["feed"], i["client_id"], i["region_code"]) for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert walked == sorted(walked) and len(walked) == len(set(walked)) == 4

    for params, loc in (
        ({"feed": "deposits"}, ["query", "feed"]),
        ({"cursor": "x"}, ["query", "cursor"]),
        ({"client": "nm-platform"}, ["query", "client"]),
        ({"region_code": "15"}, ["query", "region_code"]),
    ):
        refused = await registry.get(FRESHNESS, params=params)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == loc, params
