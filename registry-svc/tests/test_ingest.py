"""registry-svc bulk ingest end to end: HTTP upload → receipt → tables → outbox relay → Kafka.

Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson
import pytest

from devtools.feeds import (
    CSV,
    MASKED_ID,
    assert_no_id_numbers,
    broken_checksum,
    csv_bytes,
    db_value,
    person_key,
    published,
    table_digest,
    tolerate_bad_rows,
)
from devtools.synthetic import generate_province
from devtools.testing import TopicTail, event_of
from domain.identifiers import uscc_check_char
from domain.records import FIELDS, RecordKind
from ingest.pipeline import CHUNK_ROWS
from kernel.events import RegistrationRecordedV1, UnitRecordedV1
from kernel.privacy import mask_id_number

API = "/api/v1/registry"
REGISTRATIONS = RecordKind.registrations
UNITS = RecordKind.units
REG_TOPIC = RegistrationRecordedV1.topic
UNIT_TOPIC = UnitRecordedV1.topic
REG_FIELDS = FIELDS[REGISTRATIONS]


@cache
def _province(people: int) -> Any:
    return generate_province(people=people, with_payments=False)


def registrations(count: int) -> list[dict]:
    """`count` distinct registrations (copies: tests may alter them)."""
    rows = _province(max(50, int(count * 0.95) + 10)).registrations
    assert len(rows) >= count
    return [dict(row) for row in rows[:count]]


STREAMS = ("registrations", "units")


def payloads_by_subject(records: list) -> dict[str, dict]:
    return {event_of(r)["subject"]: event_of(r)["data"] for r in records}


def assert_error_shape(response) -> list[dict]:
    body = response.json()
    assert set(body) == {"detail"}
    assert isinstance(body["detail"], list) and body["detail"]
    for item in body["detail"]:
        assert set(item) == {"type", "msg", "loc"}
        assert isinstance(item["type"], str) and isinstance(item["msg"], str) and isinstance(item["loc"], list)
    return body["detail"]


async def all_pages(client, region_code: str, *, limit: int, **params: Any) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(10_000):
        query = {"region_code": region_code, "limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        response = await client.get(f"{API}/registrations", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("paging never ended")


# --- 1. the acceptance scenario ----------------------------------------------------------------


BAD_ROWS = {10: "id_number", 500: "category", 998: "registered_on"}


async def test_thousand_rows_with_three_bad(registry, registry_db, infra):
    rows = registrations(1000)
    raw_ids = {row["id_number"] for row in rows}
    rows[9]["id_number"] = broken_checksum(rows[9]["id_number"])  # row 10
    rows[499]["category"] = "astronaut_1"  # row 500
    rows[997]["registered_on"] = "2024-13-45"  # row 998
    raw_ids.add(rows[9]["id_number"])
    body = csv_bytes(rows, REGISTRATIONS)
    good = [row for i, row in enumerate(rows, start=1) if i not in BAD_ROWS]
    by_subject = {f"{row['category']}:{row['certificate_no']}": row for row in good}
    assert len(by_subject) == 997

    async with TopicTail(infra.bootstrap_servers, REG_TOPIC) as tail:
        response = await registry.post(
            f"{API}/registrations", content=body, headers={**CSV, "Idempotency-Key": "k-1000"}
        )
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert (receipt["received"], receipt["accepted"], receipt["rejected"]) == (1000, 997, 3)
        assert receipt["status"] == "partially_accepted"
        assert receipt["changed"] == 997
        assert receipt["feed"] == "registrations" and receipt["mode"] == "valid_rows"
        errors = receipt["errors"]
        assert [(e["row"], e["field"], e["code"]) for e in errors] == [
            (10, "id_number", "checksum"),
            (500, "category", "invalid_choice"),
            (998, "registered_on", "invalid_date"),
        ]
        assert all(e["message"] for e in errors)
        assert "astronaut_1" not in response.text and "2024-13-45" not in response.text
        assert_no_id_numbers(raw_ids, texts=[response.text])

        # The receipt again, by batch id.
        again = await registry.get(f"{API}/batches/{receipt['batch_id']}")
        assert again.status_code == 200 and again.json() == receipt

        # Readable by region, paging through everything.
        listed = await all_pages(registry, "150000", limit=300)
        assert len(listed) == 997
        assert {f"{r['category']}:{r['certificate_no']}" for r in listed} == set(by_subject)
        assert all(MASKED_ID.match(r["masked_id"]) for r in listed)
        assert_no_id_numbers(raw_ids, texts=[orjson.dumps(listed).decode()])

        # Readable per person.
        expected_per_person: dict[str, set[str]] = {}
        for subject, row in by_subject.items():
            expected_per_person.setdefault(person_key(row["id_number"]), set()).add(subject)
        per_person = await asyncio.gather(
            *(registry.get(f"{API}/persons/{person_ref}/registrations") for person_ref in expected_per_person)
        )
        for person_ref, got in zip(expected_per_person, per_person, strict=True):
            assert got.status_code == 200 and got.json()["next_cursor"] is None
            held = got.json()["items"]
            assert {f"{r['category']}:{r['certificate_no']}" for r in held} == expected_per_person[person_ref]
            assert all(r["person_ref"] == person_ref for r in held)
        assert sum(len(got.json()["items"]) for got in per_person) == 997

        # Exactly 997 events, keyed by the person's pseudonym, without any ID number.
        records = await published(tail, registry_db.url, exactly=997)
        seen_subjects: set[str] = set()
        event_ids: set[str] = set()
        for record in records:
            event = event_of(record)
            assert event["specversion"] == "1.0"
            assert event["type"] == RegistrationRecordedV1.event_type
            assert event["source"] and event["id"] and event["time"] and event["subject"]
            assert event["datacontenttype"] == "application/json"
            datetime.fromisoformat(event["time"])
            payload = RegistrationRecordedV1.model_validate(event["data"])
            source_row = by_subject[event["subject"]]
            expected_key = person_key(source_row["id_number"])
            assert record.key == expected_key.encode()
            assert payload.person_ref == expected_key
            assert payload.masked_id == mask_id_number(source_row["id_number"])
            assert payload.name == source_row["name"] and payload.unit_name == source_row["unit_name"]
            assert payload.batch_id == receipt["batch_id"]
            assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
            seen_subjects.add(event["subject"])
            event_ids.add(event["id"])
        assert seen_subjects == set(by_subject)
        assert len(event_ids) == 997
        assert_no_id_numbers(raw_ids, records=records)

        # The same upload under the same Idempotency-Key: the first receipt, nothing new.
        stored = await table_digest(registry_db.url, "registrations")
        replay = await registry.post(f"{API}/registrations", content=body, headers={**CSV, "Idempotency-Key": "k-1000"})
        assert replay.status_code == 200
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == receipt
        await published(tail, registry_db.url, exactly=0)
        assert await table_digest(registry_db.url, "registrations") == stored
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 997
    assert await db_value(registry_db.url, "SELECT count(*) FROM ingest_batches") == 1


# --- 2. re-sending unchanged records ----------------------------------------------------------


async def test_resend_without_key_changes_nothing_until_a_record_changes(registry, registry_db, infra):
    rows = registrations(1000)
    async with TopicTail(infra.bootstrap_servers, REG_TOPIC) as tail:
        first = (
            await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)
        ).json()
        assert (first["accepted"], first["changed"]) == (1000, 1000)
        await published(tail, registry_db.url, exactly=1000)
        stored = await table_digest(registry_db.url, "registrations")

        second = await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)
        assert second.status_code == 201
        receipt = second.json()
        assert receipt["batch_id"] != first["batch_id"]
        assert (receipt["received"], receipt["accepted"], receipt["changed"]) == (1000, 1000, 0)
        assert receipt["status"] == "accepted"
        await published(tail, registry_db.url, exactly=0)
        assert await table_digest(registry_db.url, "registrations") == stored

        rows[123]["unit_name"] = rows[123]["unit_name"] + "第二分公司"
        third = (
            await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)
        ).json()
        assert (third["accepted"], third["changed"]) == (1000, 1)
        event = event_of((await published(tail, registry_db.url, exactly=1))[0])
        assert event["subject"] == f"{rows[123]['category']}:{rows[123]['certificate_no']}"
        assert event["data"]["unit_name"] == rows[123]["unit_name"]
        assert event["data"]["batch_id"] == third["batch_id"]
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 1000
    assert await db_value(registry_db.url, "SELECT count(*) FROM ingest_batches") == 3


async def test_every_write_of_a_certificate_publishes_a_larger_revision(registry, registry_db, infra):
    """A registration's events are keyed by its holder: a certificate corrected from one person to another travels
    in two partitions, and its revision tells a consumer which state is the later. A replay publishes the same
    state with the same revision."""
    rows = registrations(20)

    async def upload() -> dict:
        response = await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)
        assert response.status_code == 201, response.text
        return response.json()

    def subject(row: dict) -> str:
        return f"{row['category']}:{row['certificate_no']}"

    async with TopicTail(infra.bootstrap_servers, REG_TOPIC) as tail:
        await upload()
        first = payloads_by_subject(await published(tail, registry_db.url, exactly=20))
        revisions = [payload["revision"] for payload in first.values()]
        assert min(revisions) > 0 and len(set(revisions)) == 20

        corrected, moved = rows[3], rows[7]
        holder = next(row for row in rows if row["id_number"] != corrected["id_number"])
        rows[3] = {**corrected, "id_number": holder["id_number"], "name": holder["name"]}
        rows[7] = {**moved, "unit_name": moved["unit_name"] + "第二分公司"}
        assert (await upload())["changed"] == 2
        second = payloads_by_subject(await published(tail, registry_db.url, exactly=2))
        assert set(second) == {subject(corrected), subject(moved)}
        assert second[subject(corrected)]["person_ref"] == person_key(holder["id_number"])
        assert first[subject(corrected)]["person_ref"] != person_key(holder["id_number"])
        assert min(payload["revision"] for payload in second.values()) > max(revisions)

        await upload()  # the same rows again: nothing written, nothing published
        await published(tail, registry_db.url, exactly=0)
        response = await registry.post(f"{API}/replay", json={"streams": ["registrations"]})
        assert response.status_code == 200, response.text
        replayed = payloads_by_subject(await published(tail, registry_db.url, exactly=20))
    assert replayed == first | second


# --- 3. all or nothing ------------------------------------------------------------------------


async def test_all_or_nothing(registry, registry_db, infra):
    rows = registrations(60)
    bad = [dict(row) for row in rows]
    bad[41]["valid_until"] = "not a date"
    async with TopicTail(infra.bootstrap_servers, REG_TOPIC) as tail:
        response = await registry.post(
            f"{API}/registrations",
            params={"mode": "all_or_nothing"},
            content=csv_bytes(bad, REGISTRATIONS),
            headers=CSV,
        )
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert receipt["status"] == "rejected" and receipt["mode"] == "all_or_nothing"
        assert (receipt["received"], receipt["accepted"], receipt["changed"]) == (60, 0, 0)
        assert receipt["rejected"] == 60
        assert [(e["row"], e["field"], e["code"]) for e in receipt["errors"]] == [(42, "valid_until", "invalid_date")]
        assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 0
        assert await db_value(registry_db.url, "SELECT count(*) FROM persons") == 0
        assert await db_value(registry_db.url, "SELECT count(*) FROM outbox") == 0
        assert (await registry.get(f"{API}/batches/{receipt['batch_id']}")).json()["status"] == "rejected"
        await published(tail, registry_db.url, exactly=0)

        fixed = await registry.post(
            f"{API}/registrations",
            params={"mode": "all_or_nothing"},
            content=csv_bytes(rows, REGISTRATIONS),
            headers=CSV,
        )
        assert fixed.status_code == 201
        assert (fixed.json()["status"], fixed.json()["accepted"], fixed.json()["rejected"]) == ("accepted", 60, 0)
        await published(tail, registry_db.url, exactly=60)
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 60


# --- 3b. plausible dates ----------------------------------------------------------------------

# (row, field, value): dates no registration can have, each a row error naming its field.
IMPLAUSIBLE = [
    (2, "registered_on", "1999-12-31"),
    (4, "registered_on", "9999-12-31"),
    (6, "valid_until", "1999-12-31"),
    (7, "valid_until", "9999-12-31"),
]


async def test_implausible_dates_are_row_errors(registry, registry_db, infra):
    await tolerate_bad_rows(registry, API, REGISTRATIONS)  # half the rows are bad
    rows = registrations(8)
    for row, field, value in IMPLAUSIBLE:
        rows[row - 1][field] = value
    rows[7]["valid_until"] = "2090-12-31"  # row 8: an end may lie years ahead
    async with TopicTail(infra.bootstrap_servers, REG_TOPIC) as tail:
        response = await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert (receipt["accepted"], receipt["rejected"]) == (4, 4)
        assert [(e["row"], e["field"], e["code"]) for e in receipt["errors"]] == [
            (row, field, "implausible_date") for row, field, _ in IMPLAUSIBLE
        ]
        assert not any(value in response.text for _, _, value in IMPLAUSIBLE)
        events = await published(tail, registry_db.url, exactly=4)
    assert "2090-12-31" in {event_of(event)["data"]["valid_until"] for event in events}


# --- 4. GB18030 -------------------------------------------------------------------------------


async def test_gb18030_with_chinese_headers(registry, registry_db):
    rows = registrations(80)
    text = csv_bytes(rows, REGISTRATIONS, headers="zh").decode("utf-8")
    assert text.startswith("身份证号,姓名,注册类别")
    body = text.encode("gb18030")

    as_utf8 = await registry.post(f"{API}/registrations", content=body, headers=CSV)
    assert as_utf8.status_code == 422
    detail = assert_error_shape(as_utf8)
    assert "gb18030" in detail[0]["msg"].lower()
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 0
    assert await db_value(registry_db.url, "SELECT count(*) FROM ingest_batches") == 0

    response = await registry.post(
        f"{API}/registrations", content=body, headers={"content-type": "text/csv; charset=gb18030"}
    )
    assert response.status_code == 201, response.text
    assert (response.json()["accepted"], response.json()["rejected"]) == (80, 0)
    listed = await all_pages(registry, "150000", limit=1000)
    names = {(r["certificate_no"], r["name"], r["unit_name"]) for r in listed}
    assert names == {(r["certificate_no"], r["name"], r["unit_name"]) for r in rows}

    # Excel's "GBK" label is read as GB18030 too.
    again = await registry.post(f"{API}/registrations", content=body, headers={"content-type": "text/csv; charset=GBK"})
    assert again.status_code == 201 and again.json()["changed"] == 0 and again.json()["accepted"] == 80


# --- 5. NDJSON and JSON ---------------------------------------------------------------------


def _json_ready(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


async def test_ndjson_and_json_array(registry, registry_db):
    await tolerate_bad_rows(registry, API, REGISTRATIONS)  # 2 bad records in 22
    rows = [_json_ready(row) for row in registrations(40)]
    lines = [orjson.dumps(row) for row in rows[:20]]
    lines.insert(5, b"{not json")  # row 6
    lines.insert(8, b'["an", "array"]')  # row 9
    ndjson = b"\n".join(lines) + b"\n"
    response = await registry.post(
        f"{API}/registrations", content=ndjson, headers={"content-type": "application/x-ndjson"}
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["received"], receipt["accepted"], receipt["rejected"]) == (22, 20, 2)
    assert [(e["row"], e["field"], e["code"]) for e in receipt["errors"]] == [
        (6, None, "invalid_record"),
        (9, None, "invalid_record"),
    ]

    zh = {
        "id_number": "身份证号", "name": "姓名", "category": "注册类别", "certificate_no": "注册证书编号",
        "unit_name": "注册单位", "region_code": "所属地区", "registered_on": "注册日期", "status": "状态",
    }  # fmt: skip
    items: list[Any] = [{zh.get(k, k): v for k, v in row.items()} for row in rows[20:]]
    items[3]["状态"] = "注销"  # a Chinese label for a code
    items.insert(7, 42)  # item 8 is not an object
    items[12] = {**items[12], "所属地区": "15010"}  # item 13: bad region
    array = orjson.dumps(items)
    response = await registry.post(f"{API}/registrations", content=array, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["received"], receipt["accepted"], receipt["rejected"]) == (21, 19, 2)
    assert [(e["row"], e["field"], e["code"]) for e in receipt["errors"]] == [
        (8, None, "invalid_record"),
        (13, "region_code", "invalid_region"),
    ]
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 39
    assert (
        await db_value(
            registry_db.url,
            "SELECT count(*) FROM registrations WHERE certificate_no = $1 AND status = 'cancelled'",
            rows[23]["certificate_no"],
        )
        == 1
    )

    malformed = await registry.post(
        f"{API}/registrations", content=b'[{"name": "x"}, {', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert_error_shape(malformed)
    assert await db_value(registry_db.url, "SELECT count(*) FROM ingest_batches") == 2


# --- 6. units ---------------------------------------------------------------------------------


def _uscc(prefix: str, area: str, org: str) -> str:
    first17 = f"{prefix}{area}{org}"
    return first17 + uscc_check_char(first17)


async def test_units_feed_and_name_lookup(registry, registry_db, infra):
    group: dict[str, Any] = {
        "uscc": _uscc("91", "150102", "MA0AAAA01"),
        "name": "内蒙古华建建设（集团）有限公司",
        "former_names": ["呼和浩特华建建筑有限公司", "内蒙古华建工程公司"],
        "kind": None,
        "head_office_uscc": None,
        "region_code": "150102",
    }
    lookalike = {
        **group,
        "uscc": _uscc("91", "150102", "MA0AAAA02"),
        "name": "内蒙古华建建筑（集团）有限公司",
        "former_names": [],
    }
    latin = {
        **group,
        "uscc": _uscc("91", "150203", "MA0AAAA03"),
        "name": "包头ABC工程监理有限公司",
        "former_names": [],
        "region_code": "150203",
    }
    branch = {
        **latin,
        "uscc": _uscc("91", "150602", "MA0AAAA04"),
        "name": "包头ABC工程监理有限公司鄂尔多斯分公司",
        "head_office_uscc": latin["uscc"],
        "region_code": "150602",
    }
    bureau = {
        **latin,
        "uscc": _uscc("11", "150100", "MA0AAAA05"),
        "name": "呼和浩特市住房和城乡建设局",
        "region_code": "150100",
    }
    units = [group, lookalike, latin, branch, bureau] + [dict(u) for u in _province(200).units[:40]]

    async with TopicTail(infra.bootstrap_servers, UNIT_TOPIC) as tail:
        response = await registry.post(f"{API}/units", content=csv_bytes(units, UNITS), headers=CSV)
        assert response.status_code == 201, response.text
        assert (response.json()["accepted"], response.json()["rejected"]) == (len(units), 0)

        got = await registry.get(f"{API}/units/{group['uscc'].lower()}")
        assert got.status_code == 200
        unit = got.json()
        assert unit["name"] == group["name"] and unit["former_names"] == group["former_names"]
        assert unit["kind"] == "enterprise" and unit["region_code"] == "150102"
        assert (await registry.get(f"{API}/units/{bureau['uscc']}")).json()["kind"] == "government"
        assert (await registry.get(f"{API}/units/{branch['uscc']}")).json()["head_office_uscc"] == latin["uscc"]

        async def found(name: str) -> set[str]:
            res = await registry.get(f"{API}/units", params={"name": name})
            assert res.status_code == 200
            return {u["uscc"] for u in res.json()["items"]}

        assert await found(group["name"]) == {group["uscc"]}
        assert await found("内蒙古华建建设(集团) 有限公司") == {group["uscc"]}  # half-width brackets, a space
        assert await found("内蒙古华建建设（集团）\u3000有限公司") == {group["uscc"]}  # ideographic space
        assert await found("包头ＡＢＣ工程监理有限公司") == {latin["uscc"]}  # full-width letters
        assert await found("呼和浩特 华建建筑有限公司") == {group["uscc"]}  # a former name
        assert await found("内蒙古华建工程公司") == {group["uscc"]}
        assert await found(lookalike["name"]) == {lookalike["uscc"]}  # one character apart: another unit
        assert await found("内蒙古华建建设集团有限公司") == set()
        assert await found("内蒙古华建建设有限公司") == set()

        records = await published(tail, registry_db.url, exactly=len(units))
        for record in records:
            event = event_of(record)
            assert event["type"] == UnitRecordedV1.event_type and event["specversion"] == "1.0"
            payload = UnitRecordedV1.model_validate(event["data"])
            assert record.key == payload.uscc.encode()
            assert event["subject"] == payload.uscc
        assert {event_of(r)["data"]["uscc"] for r in records} == {u["uscc"] for u in units}

    missing = await registry.get(f"{API}/units/{_uscc('91', '150102', 'MA0YYYY99')}")
    assert missing.status_code == 404
    assert_error_shape(missing)
    invalid = await registry.get(f"{API}/units/NOT-A-USCC")
    assert invalid.status_code == 404
    assert_error_shape(invalid)


# --- 7. errors --------------------------------------------------------------------------------


async def test_upload_errors(registry, registry_db):
    rows = registrations(5)
    wrong_type = await registry.post(
        f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers={"content-type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert_error_shape(wrong_type)
    no_type = await registry.post(
        f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers={"content-type": ""}
    )
    assert no_type.status_code == 415
    bad_charset = await registry.post(
        f"{API}/registrations",
        content=csv_bytes(rows, REGISTRATIONS),
        headers={"content-type": "text/csv; charset=nope"},
    )
    assert bad_charset.status_code == 415
    assert_error_shape(bad_charset)

    fields = [f for f in REG_FIELDS if f != "certificate_no"]
    missing_column = await registry.post(
        f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS, fields=fields), headers=CSV
    )
    assert missing_column.status_code == 422
    detail = assert_error_shape(missing_column)
    assert "certificate_no" in detail[0]["msg"]

    for empty in (b"", b"\n\n"):
        response = await registry.post(f"{API}/registrations", content=empty, headers=CSV)
        assert response.status_code == 422
        assert_error_shape(response)
    header_only = await registry.post(
        f"{API}/registrations", content=",".join(REG_FIELDS).encode() + b"\n", headers=CSV
    )
    assert header_only.status_code == 422
    assert_error_shape(header_only)
    empty_array = await registry.post(
        f"{API}/registrations", content=b"[]", headers={"content-type": "application/json"}
    )
    assert empty_array.status_code == 422

    unknown = await registry.get(f"{API}/batches/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert_error_shape(unknown)
    not_uuid = await registry.get(f"{API}/batches/not-a-uuid")
    assert not_uuid.status_code == 422
    assert_error_shape(not_uuid)
    bad_mode = await registry.post(
        f"{API}/registrations", params={"mode": "sometimes"}, content=csv_bytes(rows, REGISTRATIONS), headers=CSV
    )
    assert bad_mode.status_code == 422
    assert_error_shape(bad_mode)

    assert await db_value(registry_db.url, "SELECT count(*) FROM ingest_batches") == 0
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 0

    # Every row bad: a receipt (rejected), nothing stored.
    all_bad = [{**row, "region_code": "15"} for row in rows]
    response = await registry.post(f"{API}/registrations", content=csv_bytes(all_bad, REGISTRATIONS), headers=CSV)
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["accepted"], response.json()["rejected"]) == ("rejected", 0, 5)
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 0


async def test_upload_failing_after_a_stored_chunk_leaves_nothing(registry, registry_db, infra):
    """The upload breaks (bad encoding) after the first chunk was stored: the whole batch is undone."""
    rows = registrations(CHUNK_ROWS + 200)
    body = csv_bytes(rows, REGISTRATIONS) + "\n".join(["x"] * 5).encode("gb18030") + "坏".encode("gb18030") + b"\n"

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 32 * 1024):
            yield body[start : start + 32 * 1024]

    async with TopicTail(infra.bootstrap_servers, REG_TOPIC) as tail:
        response = await registry.post(f"{API}/registrations", content=stream(), headers=CSV)
        assert response.status_code == 422
        assert_error_shape(response)
        for table in ("registrations", "persons", "ingest_batches", "outbox"):
            assert await db_value(registry_db.url, f"SELECT count(*) FROM {table}") == 0, table
        await published(tail, registry_db.url, exactly=0)

    # The same rows without the broken tail go in whole.
    response = await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)
    assert response.json()["accepted"] == CHUNK_ROWS + 200
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == CHUNK_ROWS + 200


# --- 8. a large upload ------------------------------------------------------------------------


async def test_large_upload_streams_across_chunks(registry, registry_db, infra):
    total = 4 * CHUNK_ROWS
    rows = registrations(total)
    # A duplicate of row 3 inside the first chunk (the last one wins) and an identical copy in the last chunk.
    duplicate = {**rows[2], "unit_name": rows[2]["unit_name"] + "（新）"}
    rows.insert(100, duplicate)
    rows.append(dict(duplicate))
    body = csv_bytes(rows, REGISTRATIONS)

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    async with TopicTail(infra.bootstrap_servers, REG_TOPIC) as tail:
        response = await registry.post(f"{API}/registrations", content=stream(), headers=CSV)
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert (receipt["received"], receipt["accepted"], receipt["rejected"]) == (total + 2, total + 2, 0)
        assert receipt["changed"] == total
        assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == total
        assert (
            await db_value(
                registry_db.url,
                "SELECT count(*) FROM registrations WHERE certificate_no = $1 AND unit_name = $2",
                duplicate["certificate_no"],
                duplicate["unit_name"],
            )
            == 1
        )
        records = await published(tail, registry_db.url, exactly=total, timeout=60)
        assert len({event_of(r)["subject"] for r in records}) == total


# --- 9. replay --------------------------------------------------------------------------------


async def test_replay_republishes_current_state(registry, registry_db, infra):
    rows = registrations(150)
    units = [dict(u) for u in _province(200).units[:10]]
    async with (
        TopicTail(infra.bootstrap_servers, REG_TOPIC) as regs,
        TopicTail(infra.bootstrap_servers, UNIT_TOPIC) as unit_tail,
    ):
        assert (
            await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)
        ).status_code == 201
        assert (await registry.post(f"{API}/units", content=csv_bytes(units, UNITS), headers=CSV)).status_code == 201
        first = await published(regs, registry_db.url, exactly=150)
        await published(unit_tail, registry_db.url, exactly=10)
        # A replay re-marks the records' change ids and nothing else.
        stored = {table: await table_digest(registry_db.url, table, ignore=("change_id",)) for table in STREAMS}

        response = await registry.post(f"{API}/replay", json={"streams": ["registrations"]})
        assert response.status_code == 200, response.text
        assert response.json() == {"queued": {"registrations": 150}}
        replayed = await published(regs, registry_db.url, exactly=150)
        # The same state again, in new events, keyed by the person's pseudonym.
        assert payloads_by_subject(replayed) == payloads_by_subject(first)
        assert not {event_of(r)["id"] for r in replayed} & {event_of(r)["id"] for r in first}
        for record in replayed:
            assert record.key == event_of(record)["data"]["person_ref"].encode()
        await published(unit_tail, registry_db.url, exactly=0)  # only the stream asked for

        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        response = await registry.post(f"{API}/replay", json={"streams": ["registrations", "units"], "since": future})
        assert response.status_code == 200
        assert response.json() == {"queued": {"registrations": 0, "units": 0}}
        await published(regs, registry_db.url, exactly=0)
        await published(unit_tail, registry_db.url, exactly=0)

        everything = await registry.post(f"{API}/replay", json={})
        assert everything.json() == {"queued": {"units": 10, "registrations": 150}}
        await published(unit_tail, registry_db.url, exactly=10)
        await published(regs, registry_db.url, exactly=150)

        bad = await registry.post(f"{API}/replay", json={"streams": ["contributions"]})
        assert bad.status_code == 422
        assert_error_shape(bad)
        # A time no date can hold once shifted to UTC is refused, not a database error.
        for since in ("0001-01-01T00:00:03+05:00", "9999-12-31T23:59:59-05:00"):
            out_of_range = await registry.post(f"{API}/replay", json={"since": since})
            assert out_of_range.status_code == 422 and out_of_range.json()["detail"][0]["loc"] == ["body", "since"]
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 150
    assert {table: await table_digest(registry_db.url, table, ignore=("change_id",)) for table in STREAMS} == stored


@pytest.mark.parametrize("status_label, expected", [("注销", "cancelled"), ("有效", "active"), ("", "active")])
async def test_status_labels(registry, registry_db, status_label, expected):
    rows = registrations(3)
    for row in rows:
        row["status"] = status_label
    assert (await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)).json()[
        "accepted"
    ] == 3
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations WHERE status = $1", expected) == 3
