"""registry-svc under the caller's region scope (the regions its gateway-signed credential states): lists
narrowed, other regions' objects 404, feed rows outside the caller's regions rejected, a header claiming
other regions ignored; and the internal identity route, which only a service (the gateway's reveal) may call."""

from __future__ import annotations

import orjson

from devtools.feeds import JSON, person_key, tolerate_bad_rows
from devtools.synthetic import generate_province
from devtools.testing import caller_headers
from domain.records import RecordKind

API = "/api/v1/registry"
# What a caller inside the network might add, hoping a service still takes the region from a header.
FORGED_SCOPE = {"X-Region-Scope": "000000"}


def hohhot() -> dict[str, str]:
    """A Hohhot officer's credential, fresh (it lives a minute)."""
    return caller_headers(regions=["150100"])


def _rows() -> tuple[list[dict], list[dict]]:
    province = generate_province(people=40, seed=3, with_payments=False)
    registrations = [dict(r) for r in province.registrations[:12]]
    for i, row in enumerate(registrations):
        row["region_code"] = ("150102", "150203")[i % 2]
        row["registered_on"] = row["valid_until"] = None
    units = [
        dict(u, region_code=("150102", "150203")[i % 2], former_names=[]) for i, u in enumerate(province.units[:4])
    ]
    return registrations, units


REGISTRATIONS, UNITS = _rows()


async def _load(registry) -> None:
    for path, rows in (("units", UNITS), ("registrations", REGISTRATIONS)):
        response = await registry.post(f"{API}/{path}", content=orjson.dumps(rows), headers=JSON)
        assert response.status_code == 201 and response.json()["rejected"] == 0, response.text


async def test_lists_and_objects_follow_the_region_scope(registry) -> None:
    await _load(registry)
    hohhot_only = hohhot()
    by_region = f"{API}/registrations"
    listed = (await registry.get(by_region, params={"region_code": "150000"}, headers=hohhot_only)).json()
    assert listed["items"] and all(r["region_code"].startswith("1501") for r in listed["items"])
    everything = (await registry.get(by_region, params={"region_code": "150000"})).json()["items"]
    assert len(everything) > len(listed["items"])
    # Asking for a region outside the caller's is refused, clearly.
    baotou = await registry.get(by_region, params={"region_code": "150200"}, headers=hohhot_only)
    assert baotou.status_code == 403 and baotou.json()["detail"] == [
        {"type": "forbidden", "msg": "the region is outside your regions", "loc": ["query", "region_code"]}
    ]

    hohhot_unit, baotou_unit = UNITS[0], UNITS[1]
    assert (await registry.get(f"{API}/units/{hohhot_unit['uscc']}", headers=hohhot_only)).status_code == 200
    # Another region's unit is 404 worded as an absent one: the answer says nothing of its existence.
    elsewhere = await registry.get(f"{API}/units/{baotou_unit['uscc']}", headers=hohhot_only)
    absent = await registry.get(f"{API}/units/91150102MA0N7X8Y9W", headers=hohhot_only)
    assert elsewhere.status_code == absent.status_code == 404 and elsewhere.json() == absent.json()
    by_name = await registry.get(f"{API}/units", params={"name": baotou_unit["name"]}, headers=hohhot_only)
    assert by_name.status_code == 200 and by_name.json() == {"items": [], "next_cursor": None}
    assert (await registry.get(f"{API}/units", params={"name": baotou_unit["name"]})).json()["items"]

    ref = person_key(_only_in_baotou())
    assert (await registry.get(f"{API}/persons/{ref}/registrations", headers=hohhot_only)).json()["items"] == []
    assert (await registry.get(f"{API}/persons/{ref}/registrations")).json()["items"]


def _only_in_baotou() -> str:
    """The ID number of someone registered in Baotou and not in Hohhot."""
    in_hohhot = {r["id_number"] for r in REGISTRATIONS if r["region_code"] == "150102"}
    return sorted({r["id_number"] for r in REGISTRATIONS if r["region_code"] == "150203"} - in_hohhot)[0]


async def test_a_forged_region_header_widens_nothing(registry) -> None:
    await _load(registry)
    forged = {**hohhot(), **FORGED_SCOPE}
    listed = await registry.get(f"{API}/registrations", params={"region_code": "000000"}, headers=forged)
    assert listed.status_code == 200
    assert listed.json()["items"] and all(r["region_code"].startswith("1501") for r in listed.json()["items"])
    assert (await registry.get(f"{API}/units/{UNITS[1]['uscc']}", headers=forged)).status_code == 404
    ref = person_key(_only_in_baotou())
    assert (await registry.get(f"{API}/persons/{ref}/registrations", headers=forged)).json()["items"] == []
    # Rows of another region are still out of the caller's scope.
    rows = [dict(r, certificate_no=f"FORGED-{i}") for i, r in enumerate(REGISTRATIONS[:2])]
    sent = await registry.post(f"{API}/registrations", content=orjson.dumps(rows), headers={**JSON, **forged})
    assert sent.status_code == 201 and [e["code"] for e in sent.json()["errors"]] == ["out_of_scope"]
    # The header alone, without a credential, is nobody.
    bare = await registry.get(f"{API}/registrations", params={"region_code": "000000"}, headers=FORGED_SCOPE, auth=None)
    assert bare.status_code == 401 and bare.json()["detail"][0]["loc"] == ["header", "authorization"]


async def test_the_internal_identity_route_answers_only_services(registry) -> None:
    await _load(registry)
    row = next(r for r in REGISTRATIONS if r["region_code"] == "150102")
    ref = person_key(row["id_number"])
    path = f"/internal/persons/{ref}/identity"
    found = await registry.get(path)  # the tests' client presents a service credential
    assert found.status_code == 200
    assert (
        person_key(found.json()["id_number"]) == ref and found.json()["person_ref"] == ref
    )  # by pseudonym: no ID number in test output
    # A caller may not reach it, whatever its regions, scopes or headers; without a credential nobody may.
    revealer = caller_headers(regions=["000000"], role="province_admin", scopes=["persons:reveal"])
    for headers in (revealer, {**hohhot(), **FORGED_SCOPE}):
        refused = await registry.get(path, headers=headers)
        assert refused.status_code == 403 and "id_number" not in refused.text
    assert (await registry.get(path, auth=None)).status_code == 401
    assert (await registry.get(f"/internal/persons/{'0' * 26}/identity")).status_code == 404
    assert "/internal/persons/{person_ref}/identity" not in (await registry.get("/openapi.json")).json()["paths"]


async def test_a_scoped_feed_sends_only_rows_of_its_regions(registry) -> None:
    await tolerate_bad_rows(registry, API, RecordKind.registrations, client_id="test-officer")  # half the rows
    rows = [dict(r, certificate_no=f"SCOPE-{i}") for i, r in enumerate(REGISTRATIONS[:4])]
    response = await registry.post(f"{API}/registrations", content=orjson.dumps(rows), headers={**JSON, **hohhot()})
    receipt = response.json()
    assert response.status_code == 201
    assert receipt["accepted"] == 2 and receipt["rejected"] == 2
    assert {(e["row"], e["code"]) for e in receipt["errors"]} == {(2, "out_of_scope"), (4, "out_of_scope")}
