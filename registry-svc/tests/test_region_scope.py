"""registry-svc under the gateway's region scope (X-Region-Scope): lists narrowed, other regions' objects 404,
feed rows outside the caller's regions rejected, and the internal identity route the gateway reveals through."""

from __future__ import annotations

import orjson

from devtools.feeds import JSON, person_key
from devtools.synthetic import generate_province

API = "/api/v1/registry"
HOHHOT = {"X-Region-Scope": "150100"}


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
    listed = (await registry.get(f"{API}/registrations", params={"region_code": "150000"}, headers=HOHHOT)).json()
    assert listed["items"] and all(r["region_code"].startswith("1501") for r in listed["items"])
    everything = (await registry.get(f"{API}/registrations", params={"region_code": "150000"})).json()["items"]
    assert len(everything) > len(listed["items"])
    assert (await registry.get(f"{API}/registrations", params={"region_code": "150200"}, headers=HOHHOT)).json()[
        "items"
    ] == []

    hohhot_unit, baotou_unit = UNITS[0], UNITS[1]
    assert (await registry.get(f"{API}/units/{hohhot_unit['uscc']}", headers=HOHHOT)).status_code == 200
    assert (await registry.get(f"{API}/units/{baotou_unit['uscc']}", headers=HOHHOT)).status_code == 404
    by_name = await registry.get(f"{API}/units", params={"name": baotou_unit["name"]}, headers=HOHHOT)
    assert by_name.status_code == 200 and by_name.json() == []

    only_baotou = {r["id_number"] for r in REGISTRATIONS if r["region_code"] == "150203"} - {
        r["id_number"] for r in REGISTRATIONS if r["region_code"] == "150102"
    }
    ref = person_key(sorted(only_baotou)[0])
    assert (await registry.get(f"{API}/persons/{ref}/registrations", headers=HOHHOT)).json() == []
    assert (await registry.get(f"{API}/persons/{ref}/registrations")).json()
    assert (
        await registry.get(f"{API}/persons/{ref}/registrations", headers={"X-Region-Scope": "x"})
    ).status_code == 400


async def test_the_internal_identity_route_decrypts_within_the_scope(registry) -> None:
    await _load(registry)
    row = next(r for r in REGISTRATIONS if r["region_code"] == "150102")
    ref = person_key(row["id_number"])
    found = await registry.get(f"/internal/persons/{ref}/identity", headers=HOHHOT)
    assert found.status_code == 200
    assert (
        person_key(found.json()["id_number"]) == ref and found.json()["person_ref"] == ref
    )  # by pseudonym: no ID number in test output
    assert (
        await registry.get(f"/internal/persons/{ref}/identity", headers={"X-Region-Scope": "150200"})
    ).status_code == 404
    assert (await registry.get(f"/internal/persons/{'0' * 26}/identity")).status_code == 404
    assert "/internal/persons/{person_ref}/identity" not in (await registry.get("/openapi.json")).json()["paths"]


async def test_a_scoped_feed_sends_only_rows_of_its_regions(registry) -> None:
    rows = [dict(r, certificate_no=f"SCOPE-{i}") for i, r in enumerate(REGISTRATIONS[:4])]
    response = await registry.post(f"{API}/registrations", content=orjson.dumps(rows), headers={**JSON, **HOHHOT})
    receipt = response.json()
    assert response.status_code == 201
    assert receipt["accepted"] == 2 and receipt["rejected"] == 2
    assert {(e["row"], e["code"]) for e in receipt["errors"]} == {(2, "out_of_scope"), (4, "out_of_scope")}
