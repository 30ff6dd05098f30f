"""registry-svc reads: cursor paging, region prefixes, and the errors of bad queries."""

from __future__ import annotations

import base64

import orjson
import pytest

from devtools.feeds import upload
from devtools.synthetic import generate_province
from domain.records import RecordKind

API = "/api/v1/registry"
REGIONS = ["150102", "150103", "150121", "150100", "150203", "150207", "152501", "152502", "230102", "150602"]


def _rows() -> list[dict]:
    rows = [dict(row) for row in generate_province(people=60, seed=7, with_payments=False).registrations[:33]]
    for i, row in enumerate(rows):
        row["region_code"] = REGIONS[i % len(REGIONS)]
        row["status"] = "cancelled" if i % 4 == 0 else "active"
    return rows


ROWS = _rows()


@pytest.fixture
async def loaded(registry):
    assert (await upload(registry, API, RecordKind.registrations, ROWS))["accepted"] == len(ROWS)
    return registry


def _key(item: dict) -> tuple[str, str, str]:
    return item["region_code"], item["category"], item["certificate_no"]


def _expected(prefix: str, status: str | None = None) -> set[tuple[str, str, str]]:
    return {
        (r["region_code"], r["category"], r["certificate_no"])
        for r in ROWS
        if r["region_code"].startswith(prefix) and (status is None or r["status"] == status)
    }


async def _pages(client, region_code: str, limit: int, **params) -> list[list[dict]]:
    pages: list[list[dict]] = []
    cursor = None
    while True:
        query = {"region_code": region_code, "limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        response = await client.get(f"{API}/registrations", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100


def _error(response) -> list[dict]:
    body = response.json()
    assert set(body) == {"detail"}
    for item in body["detail"]:
        assert set(item) == {"type", "msg", "loc"}
    return body["detail"]


async def test_cursor_paging_round_trip(loaded):
    pages = await _pages(loaded, "150000", 7)
    items = [item for page in pages for item in page]
    expected = _expected("15")
    assert len(expected) >= 28
    assert len(pages) == -(-len(expected) // 7)
    assert all(len(page) == 7 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 7
    keys = [_key(item) for item in items]
    assert len(keys) == len(set(keys))  # no duplicates
    assert set(keys) == expected  # no gaps
    assert keys == sorted(keys)

    # A cursor is stable: the same cursor gives the same page again.
    first = (await loaded.get(f"{API}/registrations", params={"region_code": "150000", "limit": 7})).json()
    again = [
        (
            await loaded.get(
                f"{API}/registrations", params={"region_code": "150000", "limit": 7, "cursor": first["next_cursor"]}
            )
        ).json()
        for _ in range(2)
    ]
    assert again[0] == again[1]
    assert [_key(i) for i in again[0]["items"]] == keys[7:14]

    # A page size that divides the total exactly still ends with next_cursor null.
    exact = await _pages(loaded, "150000", len(expected))
    assert [len(p) for p in exact] in ([len(expected)], [len(expected), 0])
    assert exact[-1] == [] or len(exact) == 1


async def test_region_prefix_semantics(loaded):
    async def keys(region: str, **params) -> set:
        return {_key(i) for page in await _pages(loaded, region, 1000, **params) for i in page}

    city = await keys("150100")
    assert city == _expected("1501")
    assert {k[0] for k in city} == {"150100", "150102", "150103", "150121"}
    county = await keys("150102")
    assert county == _expected("150102") and {k[0] for k in county} == {"150102"}
    assert {k[0] for k in await keys("152500")} == {"152501", "152502"}
    assert await keys("152501") == _expected("152501")
    province = await keys("150000")
    assert province == _expected("15") and all(k[0].startswith("15") for k in province)
    assert await keys("230000") == _expected("23") != set()
    assert await keys("150300") == set()
    assert await keys("150000", status="cancelled") == _expected("15", "cancelled") != set()
    assert await keys("150100", status="active") == _expected("1501", "active")

    for bad in ("15010", "1501000", "abcdef", ""):
        response = await loaded.get(f"{API}/registrations", params={"region_code": bad})
        assert response.status_code == 422, bad
        _error(response)
    missing = await loaded.get(f"{API}/registrations")
    assert missing.status_code == 422
    bad_status = await loaded.get(f"{API}/registrations", params={"region_code": "150000", "status": "sleeping"})
    assert bad_status.status_code == 422


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


BAD_CURSORS = [
    "not a cursor!",
    "%%%%",
    "AAAA",  # decodes to bytes that are not JSON
    _cursor({"region": "150100"}),  # JSON, not a list
    _cursor(["150100"]),  # a list of the wrong length
    _cursor([1, 2, 3]),  # not strings
    _cursor(["150100", None, "x"]),
]


async def test_invalid_cursor_is_422(loaded):
    for cursor in BAD_CURSORS:
        response = await loaded.get(f"{API}/registrations", params={"region_code": "150000", "cursor": cursor})
        assert response.status_code == 422, cursor
        detail = _error(response)
        assert detail[0]["loc"] == ["query", "cursor"]
        assert cursor not in detail[0]["msg"]


async def test_limits_and_unknown_person(loaded):
    for limit in (1001, 0, -1, "ten"):
        response = await loaded.get(f"{API}/registrations", params={"region_code": "150000", "limit": limit})
        assert response.status_code == 422, limit
        _error(response)
    at_max = await loaded.get(f"{API}/registrations", params={"region_code": "150000", "limit": 1000})
    assert at_max.status_code == 200 and at_max.json()["next_cursor"] is None

    unknown = await loaded.get(f"{API}/persons/{'0' * 26}/registrations")
    assert unknown.status_code == 200 and unknown.json() == {"items": [], "next_cursor": None}
    too_short = await loaded.get(f"{API}/persons/abc/registrations")
    assert too_short.status_code == 422
    _error(too_short)
