"""registry-svc's public contract (issue 13): a registration read by its certificate number, a person's
registrations and units by name as pages, a region filter outside the caller's regions refused (403),
unknown query parameters refused (422), and an example for every body that the service accepts."""

from __future__ import annotations

import orjson

from devtools.feeds import JSON, person_key
from devtools.synthetic import generate_province
from devtools.testing import caller_headers
from kernel.openapi import missing_examples, request_examples
from registry_svc.main import create_app, service

API = "/api/v1/registry"


def _rows() -> tuple[list[dict], list[dict]]:
    province = generate_province(people=40, seed=5, with_payments=False)
    registrations = [
        dict(r, region_code=("150102", "150203")[i % 2]) for i, r in enumerate(province.registrations[:12])
    ]
    units = [dict(u, region_code=("150102", "150203")[i % 2]) for i, u in enumerate(province.units[:6])]
    return registrations, units


REGISTRATIONS, UNITS = _rows()


async def _load(registry) -> None:
    for path, rows in (("units", UNITS), ("registrations", REGISTRATIONS)):
        response = await registry.post(f"{API}/{path}", content=orjson.dumps(rows), headers=JSON)
        assert response.status_code == 201 and response.json()["rejected"] == 0, response.text


async def test_a_registration_is_read_by_its_certificate_number(registry) -> None:
    await _load(registry)
    hohhot = caller_headers(regions=["150100"])
    mine = next(r for r in REGISTRATIONS if r["region_code"] == "150102")
    theirs = next(r for r in REGISTRATIONS if r["region_code"] == "150203")

    found = await registry.get(f"{API}/registrations/{mine['category']}/{mine['certificate_no']}", headers=hohhot)
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["certificate_no"], body["category"], body["person_ref"]) == (
        mine["certificate_no"],
        mine["category"],
        person_key(mine["id_number"]),
    )
    # Another region's registration is 404 worded exactly as one that does not exist.
    elsewhere = await registry.get(
        f"{API}/registrations/{theirs['category']}/{theirs['certificate_no']}", headers=hohhot
    )
    absent = await registry.get(f"{API}/registrations/{mine['category']}/NO-SUCH-CERT", headers=hohhot)
    assert elsewhere.status_code == absent.status_code == 404
    assert (
        elsewhere.json()
        == absent.json()
        == {
            "detail": [
                {"type": "not_found", "msg": "no registration with this reference", "loc": ["path", "certificate_no"]}
            ]
        }
    )
    assert (
        await registry.get(f"{API}/registrations/{theirs['category']}/{theirs['certificate_no']}")
    ).status_code == 200
    assert (await registry.get(f"{API}/registrations/astronaut/{mine['certificate_no']}")).status_code == 422


async def test_lists_are_pages(registry) -> None:
    await _load(registry)
    person = max(
        {person_key(r["id_number"]) for r in REGISTRATIONS},
        key=lambda ref: sum(person_key(r["id_number"]) == ref for r in REGISTRATIONS),
    )
    expected = {r["certificate_no"] for r in REGISTRATIONS if person_key(r["id_number"]) == person}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await registry.get(f"{API}/persons/{person}/registrations", params=params)).json()
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 1
        seen += [r["certificate_no"] for r in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))

    unit = UNITS[0]
    by_name = (await registry.get(f"{API}/units", params={"name": f" {unit['name']} "})).json()
    assert [u["uscc"] for u in by_name["items"]] == [unit["uscc"]] and by_name["next_cursor"] is None
    bad = await registry.get(f"{API}/units", params={"name": unit["name"], "cursor": "x"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]


async def test_refusals_are_clear(registry) -> None:
    hohhot = caller_headers(regions=["150100"])
    outside = await registry.get(f"{API}/registrations", params={"region_code": "150200"}, headers=hohhot)
    assert outside.status_code == 403
    assert outside.json()["detail"] == [
        {"type": "forbidden", "msg": "the region is outside your regions", "loc": ["query", "region_code"]}
    ]
    unknown = await registry.get(f"{API}/registrations", params={"region_code": "150100", "unit_name": "x"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["query", "unit_name"]
    on_upload = await registry.post(f"{API}/units", params={"dryrun": "1"}, content=b"[]", headers=JSON)
    assert on_upload.status_code == 422 and on_upload.json()["detail"][0]["loc"] == ["query", "dryrun"]


async def test_every_operation_has_examples_and_the_upload_examples_are_accepted(registry) -> None:
    doc = create_app(service.load_settings()).openapi()
    assert missing_examples(doc) == []
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path in (f"{API}/units", f"{API}/registrations"):  # units first: the registration names one
        bodies = request_examples(doc, "POST", path)
        assert set(bodies) == {"text/csv", "application/x-ndjson", "application/json"}, path
        for media_type, body in bodies.items():
            response = await registry.post(path, content=body, headers={"Content-Type": media_type})
            assert response.status_code in (200, 201), (path, media_type, response.text)
            assert (response.json()["accepted"], response.json()["rejected"]) == (1, 0), (path, media_type)
