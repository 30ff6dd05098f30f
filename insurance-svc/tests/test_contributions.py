"""insurance-svc contributions end to end: upload → receipt → tables → outbox relay → Kafka, person view.

Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from devtools.feeds import (
    CSV,
    GB18030_CSV,
    MONTH,
    assert_no_id_numbers,
    broken_checksum,
    csv_bytes,
    db_value,
    event_payloads,
    person_key,
    published,
    table_digest,
)
from devtools.feeds import upload as upload_rows
from devtools.synthetic import SyntheticProvince, generate_province
from devtools.testing import TopicTail, event_of
from domain.records import INSURANCE_TYPE_LABELS, RecordKind
from ingest.pipeline import CHUNK_ROWS
from kernel.events import ContributionsRecordedV1
from kernel.privacy import mask_id_number

API = "/api/v1/insurance"
CONTRIBUTIONS = RecordKind.contributions
TOPIC = ContributionsRecordedV1.topic
LABEL_TO_CODE = {label: code for code, label in INSURANCE_TYPE_LABELS.items()}


@cache
def _province(people: int, seed: int, types: tuple[str, ...]) -> SyntheticProvince:
    return generate_province(people=people, seed=seed, insurance_types=types)


def contributions(people: int = 40, *, seed: int = 11, types: tuple[str, ...] = ("01", "03")) -> list[dict]:
    """Synthetic contribution rows (copies: tests may alter them)."""
    return [dict(row) for row in _province(people, seed, types).contributions]


def normal_month(period: str) -> str:
    return period if "-" in period else f"{period[:4]}-{period[4:]}"


def expected_months(rows: Iterable[dict]) -> dict[str, dict[tuple[str, str], tuple]]:
    """Per person: (period, unit_uscc) → (insurance types, unit_name, region_code), as the service should group them."""
    grouped: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for row in rows:
        month = grouped.setdefault(person_key(row["id_number"]), {}).setdefault(
            (normal_month(row["period"]), row["unit_uscc"]), {"types": set()}
        )
        month["types"].add(LABEL_TO_CODE.get(row["insurance_type"], row["insurance_type"]))
        month["unit_name"], month["region_code"] = row["unit_name"], row["region_code"]
    return {
        key: {m: (sorted(v["types"]), v["unit_name"], v["region_code"]) for m, v in months.items()}
        for key, months in grouped.items()
    }


def months_of(months: list[dict]) -> dict[tuple[str, str], tuple]:
    """A payload's months in the shape of `expected_months`; fails on a (period, unit) listed twice."""
    result = {(m["period"], m["unit_uscc"]): (m["insurance_types"], m["unit_name"], m["region_code"]) for m in months}
    assert len(result) == len(months), "one (period, unit) appears in several entries"
    return result


def by_person(records: list) -> dict[str, ContributionsRecordedV1]:
    """The payloads by person; fails when a person has more than one event."""
    return event_payloads(records, ContributionsRecordedV1)


async def person_view(client, key: str) -> dict:
    """The person's months (a page holds them all here), under the event payload's name for them."""
    response = await client.get(f"{API}/persons/{key}/contributions")
    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) == {"items", "next_cursor"} and page["next_cursor"] is None
    return {"months": page["items"]}


async def upload(client, rows: list[dict], **params: Any) -> dict:
    return await upload_rows(client, API, CONTRIBUTIONS, rows, **params)


# --- 1. acceptance ---------------------------------------------------------------------------


async def test_gb18030_chinese_headers_mixed_months_and_labels(insurance, insurance_db, infra):
    rows = contributions(40)
    for i, row in enumerate(rows):
        if i % 2:
            row["period"] = row["period"].replace("-", "")  # YYYYMM
        if i % 3 == 0:
            row["insurance_type"] = INSURANCE_TYPE_LABELS[row["insurance_type"]]  # 养老 / 医疗
    assert {"养老", "医疗", "01", "03"} <= {row["insurance_type"] for row in rows}
    assert any(len(row["period"]) == 6 for row in rows) and any(len(row["period"]) == 7 for row in rows)
    text = csv_bytes(rows, CONTRIBUTIONS, headers="zh").decode()
    assert text.startswith("身份证号,姓名,参保单位信用代码,参保单位,缴费月份,险种,参保地")
    body = text.encode("gb18030")
    ids = {row["id_number"] for row in rows}
    expected = expected_months(rows)
    assert len(expected) == len(ids)
    # The province has someone paid by two units in one month, and every month has two insurance types.
    assert any(len({uscc for _, uscc in months}) > 1 for months in expected.values())
    assert all(types == ["01", "03"] for months in expected.values() for types, _, _ in months.values())

    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        response = await insurance.post(f"{API}/contributions", content=body, headers=GB18030_CSV)
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert (receipt["received"], receipt["accepted"], receipt["rejected"], receipt["changed"]) == (
            len(rows),
            len(rows),
            0,
            len(rows),
        )
        assert receipt["status"] == "accepted" and receipt["feed"] == "contributions" and receipt["errors"] == []
        again = await insurance.get(f"{API}/batches/{receipt['batch_id']}")
        assert again.status_code == 200 and again.json() == receipt

        # Exactly one event per person, keyed by the pseudonym, with all the person's months.
        records = await published(tail, insurance_db.url, exactly=len(ids))
        payloads = by_person(records)
        assert set(payloads) == set(expected)
        names = {person_key(row["id_number"]): row["name"] for row in rows}
        masks = {person_key(i): mask_id_number(i) for i in ids}
        for key, payload in payloads.items():
            assert months_of([m.model_dump() for m in payload.months]) == expected[key]
            assert all(MONTH.match(m.period) and m.batch_id == receipt["batch_id"] for m in payload.months)
            assert payload.masked_id == masks[key]
            assert payload.name == names[key]
        assert len({event_of(r)["id"] for r in records}) == len(records)
        assert_no_id_numbers(ids, records=records)

    # The person view: one entry per (period, unit), the insurance types listed in it.
    for key in expected:
        view = await person_view(insurance, key)
        assert all(MONTH.match(m["period"]) for m in view["months"])
        assert months_of(view["months"]) == expected[key]
        assert view["months"] == payloads[key].model_dump(mode="json")["months"]  # the event's, in its order
        assert_no_id_numbers(ids, texts=[str(view)])
    unknown = await insurance.get(f"{API}/persons/{'0' * 26}/contributions")
    assert unknown.status_code == 404
    assert await db_value(insurance_db.url, "SELECT count(*) FROM contributions") == len(rows)
    assert await db_value(insurance_db.url, "SELECT count(*) FROM persons") == len(ids)


# --- 2. bad rows ----------------------------------------------------------------------------


BAD = {
    3: ("id_number", "checksum"),
    5: ("period", "invalid_month"),
    8: ("insurance_type", "invalid_choice"),
    11: ("unit_uscc", "missing"),
    13: ("unit_name", "invalid_text"),  # a NUL byte, which PostgreSQL text cannot store
    15: ("period", "implausible_month"),
    17: ("period", "implausible_month"),
}
IMPLAUSIBLE_PERIODS = {15: "9999-12", 17: "1999-12"}  # months no contribution can be for


def with_bad_rows(rows: list[dict]) -> list[dict]:
    rows[2]["id_number"] = broken_checksum(rows[2]["id_number"])  # row 3
    rows[4]["period"] = "2024-13"  # row 5
    rows[7]["insurance_type"] = "09"  # row 8
    rows[10]["unit_uscc"] = ""  # row 11
    rows[12]["unit_name"] = rows[12]["unit_name"][:2] + "\x00" + rows[12]["unit_name"][2:]  # row 13
    for number, period in IMPLAUSIBLE_PERIODS.items():
        rows[number - 1]["period"] = period
    return rows


async def test_bad_rows_and_all_or_nothing(insurance, insurance_db, infra):
    rows = with_bad_rows(contributions(30))
    bad_id = rows[2]["id_number"]
    good = [row for i, row in enumerate(rows, start=1) if i not in BAD]
    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        whole = await upload(insurance, rows, mode="all_or_nothing")
        assert (whole["status"], whole["mode"]) == ("rejected", "all_or_nothing")
        assert (whole["received"], whole["accepted"], whole["rejected"], whole["changed"]) == (
            len(rows),
            0,
            len(rows),
            0,
        )
        assert [(e["row"], e["field"], e["code"]) for e in whole["errors"]] == [(n, *BAD[n]) for n in sorted(BAD)]
        for table in ("contributions", "persons", "person_changes", "outbox"):
            assert await db_value(insurance_db.url, f"SELECT count(*) FROM {table}") == 0, table
        await published(tail, insurance_db.url, exactly=0)

        receipt = await upload(insurance, rows)
        assert receipt["status"] == "partially_accepted"
        assert (receipt["received"], receipt["accepted"], receipt["rejected"]) == (len(rows), len(good), len(BAD))
        errors = receipt["errors"]
        assert [(e["row"], e["field"], e["code"]) for e in errors] == [(n, *BAD[n]) for n in sorted(BAD)]
        assert all(e["message"] for e in errors)
        assert_no_id_numbers({bad_id}, texts=[str(receipt)])
        assert not any(period in str(receipt) for period in ("2024-13", *IMPLAUSIBLE_PERIODS.values()))
        assert receipt["changed"] == len(good)
        expected = expected_months(good)
        payloads = by_person(await published(tail, insurance_db.url, exactly=len(expected)))
        assert set(payloads) == set(expected)
        assert all(months_of([m.model_dump() for m in p.months]) == expected[k] for k, p in payloads.items())
    assert await db_value(insurance_db.url, "SELECT count(*) FROM contributions") == len(good)
    assert await db_value(insurance_db.url, "SELECT count(*) FROM ingest_batches") == 2


# --- 3. re-sending --------------------------------------------------------------------------


async def test_resend_is_a_no_op_until_a_row_changes(insurance, insurance_db, infra):
    rows = contributions(30)
    people = {row["id_number"] for row in rows}
    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        first = await upload(insurance, rows)
        assert first["changed"] == len(rows)
        await published(tail, insurance_db.url, exactly=len(people))
        stored = await table_digest(insurance_db.url, "contributions")

        second = await upload(insurance, rows)
        assert second["batch_id"] != first["batch_id"]
        assert (second["status"], second["accepted"], second["changed"]) == ("accepted", len(rows), 0)
        await published(tail, insurance_db.url, exactly=0)
        assert await table_digest(insurance_db.url, "contributions") == stored

        # One row (one insurance type of one month) now names its unit differently: a rename that
        # sorts before the old name, so the newest name must win on merit, not by order.
        changed = rows[7]
        old_name = changed["unit_name"]
        changed["unit_name"] = "ABC" + old_name
        third = await upload(insurance, rows)
        assert (third["accepted"], third["changed"]) == (len(rows), 1)
        key = person_key(changed["id_number"])
        payload = by_person(await published(tail, insurance_db.url, exactly=1))[key]
        month = next(m for m in payload.months if (m.period, m.unit_uscc) == (changed["period"], changed["unit_uscc"]))
        assert month.unit_name == changed["unit_name"] and month.batch_id == third["batch_id"]
        assert month.insurance_types == ["01", "03"]
        expected = expected_months(rows)[key]
        assert len(payload.months) == len(expected)
        view = await person_view(insurance, key)
        assert view["months"] == payload.model_dump(mode="json")["months"]
    assert await db_value(insurance_db.url, "SELECT count(*) FROM contributions") == len(rows)
    assert await db_value(insurance_db.url, "SELECT count(*) FROM ingest_batches") == 3


# --- 4. idempotency -------------------------------------------------------------------------


async def test_idempotency_key_replays_the_first_receipt(insurance, insurance_db, infra):
    rows = contributions(30)
    people = {row["id_number"] for row in rows}
    headers = {**CSV, "Idempotency-Key": "insurance-2024-10-001"}
    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        first = await insurance.post(f"{API}/contributions", content=csv_bytes(rows, CONTRIBUTIONS), headers=headers)
        assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
        await published(tail, insurance_db.url, exactly=len(people))
        stored = await table_digest(insurance_db.url, "contributions")

        # The same key with the same body, and with another body: the first receipt, nothing written.
        for rows_sent in (rows, with_bad_rows(contributions(40, seed=12))):
            body = csv_bytes(rows_sent, CONTRIBUTIONS)
            replay = await insurance.post(f"{API}/contributions", content=body, headers=headers)
            assert replay.status_code == 200
            assert replay.headers["Idempotent-Replayed"] == "true"
            assert replay.json() == first.json()
        await published(tail, insurance_db.url, exactly=0)
        assert await table_digest(insurance_db.url, "contributions") == stored
        assert await db_value(insurance_db.url, "SELECT count(*) FROM ingest_batches") == 1

        # Another key is another upload.
        other = await insurance.post(
            f"{API}/contributions", content=csv_bytes(rows, CONTRIBUTIONS), headers={**CSV, "Idempotency-Key": "other"}
        )
        assert other.status_code == 201 and other.json()["batch_id"] != first.json()["batch_id"]
    assert await db_value(insurance_db.url, "SELECT count(*) FROM ingest_batches") == 2
    assert await db_value(insurance_db.url, "SELECT count(*) FROM contributions") == len(rows)


# --- 5. retraction --------------------------------------------------------------------------


async def test_retraction(insurance, insurance_db, infra):
    batch_a = contributions(30, types=("01",))
    expected_a = expected_months(batch_a)
    # Batch B (wrong): five people also paid by another unit in their months, plus one row of A sent
    # again unchanged (still A's record).
    people = sorted({row["id_number"] for row in batch_a})[:5]
    their_units = {row["unit_uscc"] for row in batch_a if row["id_number"] in people}
    payer = next(row for row in batch_a if row["unit_uscc"] not in their_units)
    extra = [
        {**row, "unit_uscc": payer["unit_uscc"], "unit_name": payer["unit_name"], "region_code": payer["region_code"]}
        for row in batch_a
        if row["id_number"] in people
    ]
    resent = next(row for row in batch_a if row["id_number"] == people[0])
    batch_b = [*extra, dict(resent)]
    b_keys = {person_key(i) for i in people}
    expected_ab = expected_months(batch_a + batch_b)
    assert all(len(expected_ab[k]) > len(expected_a[k]) for k in b_keys)

    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        a = await upload(insurance, batch_a)
        await published(tail, insurance_db.url, exactly=len(expected_a))
        b = await upload(insurance, batch_b)
        assert (b["accepted"], b["changed"]) == (len(batch_b), len(extra))
        b_records = await published(tail, insurance_db.url, exactly=len(b_keys))
        after_b = by_person(b_records)
        assert set(after_b) == b_keys
        assert all(months_of([m.model_dump() for m in p.months]) == expected_ab[k] for k, p in after_b.items())

        retracted = await insurance.post(f"{API}/batches/{b['batch_id']}/retract")
        assert retracted.status_code == 200, retracted.text
        result = retracted.json()
        assert result["already_retracted"] is False
        assert result["rows_retracted"] == len(extra) == b["changed"]
        assert result["receipt"]["status"] == "retracted" and result["receipt"]["retracted_at"]
        assert result["receipt"]["batch_id"] == b["batch_id"] and result["receipt"]["accepted"] == len(batch_b)
        assert (await insurance.get(f"{API}/batches/{b['batch_id']}")).json()["status"] == "retracted"
        retract_records = await published(tail, insurance_db.url, exactly=len(b_keys))
        after_retract = by_person(retract_records)
        # New event ids: the people's records are not what they were.
        assert not {event_of(r)["id"] for r in retract_records} & {event_of(r)["id"] for r in b_records}
        assert set(after_retract) == b_keys
        for key, payload in after_retract.items():
            assert months_of([m.model_dump() for m in payload.months]) == expected_a[key]  # A's months, not B's
            assert all(m.batch_id == a["batch_id"] for m in payload.months)
            view = await person_view(insurance, key)
            assert months_of(view["months"]) == expected_a[key]
        assert await db_value(
            insurance_db.url, "SELECT count(*) FROM contributions WHERE retracted_at IS NOT NULL"
        ) == len(extra)

        stored = await table_digest(insurance_db.url, "contributions")
        again = await insurance.post(f"{API}/batches/{b['batch_id']}/retract")
        assert again.status_code == 200
        assert (again.json()["already_retracted"], again.json()["rows_retracted"]) == (True, 0)
        assert again.json()["receipt"]["status"] == "retracted"
        await published(tail, insurance_db.url, exactly=0)

        unknown = await insurance.post(f"{API}/batches/{uuid.uuid4()}/retract")
        assert unknown.status_code == 404
        rejected = await upload(insurance, with_bad_rows(contributions(30, types=("01",))), mode="all_or_nothing")
        assert rejected["status"] == "rejected"
        conflict = await insurance.post(f"{API}/batches/{rejected['batch_id']}/retract")
        assert conflict.status_code == 409
        await published(tail, insurance_db.url, exactly=0)
        assert await table_digest(insurance_db.url, "contributions") == stored

        # Batch C sends B's rows again: they come back.
        c = await upload(insurance, batch_b)
        assert c["changed"] == len(extra)
        revived = by_person(await published(tail, insurance_db.url, exactly=len(b_keys)))
        assert set(revived) == b_keys
        for key, payload in revived.items():
            assert months_of([m.model_dump() for m in payload.months]) == expected_ab[key]
            view = await person_view(insurance, key)
            assert months_of(view["months"]) == expected_ab[key]
            assert {m["batch_id"] for m in view["months"]} <= {a["batch_id"], c["batch_id"]}
    assert await db_value(insurance_db.url, "SELECT count(*) FROM contributions WHERE retracted_at IS NOT NULL") == 0


# --- 6. replay ------------------------------------------------------------------------------


async def test_replay(insurance, insurance_db, infra):
    rows = contributions(30)
    expected = expected_months(rows)
    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        await upload(insurance, rows)
        records = await published(tail, insurance_db.url, exactly=len(expected))
        stored = await table_digest(insurance_db.url, "contributions")

        response = await insurance.post(f"{API}/replay", json={"streams": ["contributions"]})
        assert response.status_code == 200, response.text
        assert response.json() == {"queued": {"contributions": len(expected)}}
        replayed = await published(tail, insurance_db.url, exactly=len(expected))
        assert by_person(replayed) == by_person(records)  # the same state again, in new events
        assert not {event_of(r)["id"] for r in replayed} & {event_of(r)["id"] for r in records}
        assert_no_id_numbers({row["id_number"] for row in rows}, records=replayed)

        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        response = await insurance.post(f"{API}/replay", json={"streams": ["contributions"], "since": future})
        assert response.status_code == 200
        assert response.json() == {"queued": {"contributions": 0}}
        past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        everything = await insurance.post(f"{API}/replay", json={"since": past})
        assert everything.json() == {"queued": {"contributions": len(expected), "person_statuses": 0}}
        await published(tail, insurance_db.url, exactly=len(expected))

        # An unknown stream is refused as invalid content (422, the registry's answer too), naming the field.
        unknown = await insurance.post(f"{API}/replay", json={"streams": ["registrations"]})
        assert unknown.status_code == 422
        assert [d["loc"] for d in unknown.json()["detail"]] == [["body", "streams"]]
        await published(tail, insurance_db.url, exactly=0)
    assert await table_digest(insurance_db.url, "contributions") == stored


# --- 7. one person in two chunks ------------------------------------------------------------


async def test_person_split_across_chunks_gets_one_event(insurance, insurance_db, infra):
    rows = contributions(480, seed=5)
    person = rows[0]["id_number"]
    own = [row for row in rows if row["id_number"] == person]
    others = [row for row in rows if row["id_number"] != person]
    assert len(own) >= 4 and len(others) > CHUNK_ROWS
    half = len(own) // 2
    ordered = own[:half] + others + own[half:]  # the person's first rows in chunk 1, the rest in chunk 2
    expected = expected_months(ordered)
    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        receipt = await upload(insurance, ordered)
        assert (receipt["accepted"], receipt["changed"]) == (len(ordered), len(ordered))
        payloads = by_person(await published(tail, insurance_db.url, exactly=len(expected)))
    assert set(payloads) == set(expected)
    key = person_key(person)
    assert months_of([m.model_dump() for m in payloads[key].months]) == expected[key]
    assert await db_value(insurance_db.url, "SELECT count(*) FROM contributions WHERE person_key = $1", key) == len(own)


async def test_a_renamed_person_is_published_with_the_new_name(insurance, insurance_db, infra) -> None:
    rows = contributions(people=6, seed=23)
    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        await upload(insurance, rows)
        await published(tail, insurance_db.url, exactly=len({row["id_number"] for row in rows}))
        renamed = rows[0]["id_number"]
        for row in rows:
            if row["id_number"] == renamed:
                row["name"] = "新名字"
        receipt = await upload(insurance, rows)
        assert receipt["changed"] == 0  # no payment row changed
        payloads = by_person(await published(tail, insurance_db.url, exactly=1))
    assert list(payloads) == [person_key(renamed)]
    assert payloads[person_key(renamed)].name == "新名字"
