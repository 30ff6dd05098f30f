"""fund-svc deposits end to end: each ingest guarantee once (the insurance tests cover the shared kernel in depth).

Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache

from devtools.feeds import (
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
    upload,
)
from devtools.synthetic import generate_province
from devtools.testing import TopicTail, event_of
from domain.records import RecordKind
from kernel.events import DepositsRecordedV1
from kernel.privacy import mask_id_number

API = "/api/v1/fund"
DEPOSITS = RecordKind.deposits
TOPIC = DepositsRecordedV1.topic


@cache
def _deposits(people: int, seed: int) -> tuple[dict, ...]:
    return tuple(generate_province(people=people, seed=seed).deposits)


def deposits(people: int = 40, seed: int = 31) -> list[dict]:
    return [dict(row) for row in _deposits(people, seed)]


def expected_months(rows: Iterable[dict]) -> dict[str, dict[tuple[str, str], tuple[str, str]]]:
    out: dict[str, dict[tuple[str, str], tuple[str, str]]] = {}
    for row in rows:
        period = row["period"] if "-" in row["period"] else f"{row['period'][:4]}-{row['period'][4:]}"
        out.setdefault(person_key(row["id_number"]), {})[(period, row["unit_uscc"])] = (
            row["unit_name"],
            row["region_code"],
        )
    return out


def months_of(months: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    result = {(m["period"], m["unit_uscc"]): (m["unit_name"], m["region_code"]) for m in months}
    assert len(result) == len(months), "one (period, unit) appears in several entries"
    assert all(MONTH.match(m["period"]) for m in months)
    return result


def by_person(records: list) -> dict[str, DepositsRecordedV1]:
    return event_payloads(records, DepositsRecordedV1)


def months_by_person(payloads: dict[str, DepositsRecordedV1]) -> dict[str, dict]:
    return {k: months_of([m.model_dump() for m in p.months]) for k, p in payloads.items()}


BAD = {
    2: ("id_number", "checksum"),
    4: ("period", "invalid_month"),
    6: ("unit_uscc", "missing"),
    8: ("period", "implausible_month"),
    10: ("period", "implausible_month"),
}
IMPLAUSIBLE_PERIODS = {8: "999912", 10: "199912"}  # months no deposit can be for


async def test_deposits_ingest_events_view_idempotency_and_replay(fund, fund_db, infra):
    rows = deposits()
    for row in rows:
        row["period"] = row["period"].replace("-", "")  # 缴存月份 as YYYYMM
    ids = {row["id_number"] for row in rows}
    rows[1]["id_number"] = broken_checksum(rows[1]["id_number"])
    rows[3]["period"] = "202413"
    rows[5]["unit_uscc"] = ""
    for number, period in IMPLAUSIBLE_PERIODS.items():
        rows[number - 1]["period"] = period
    bad_id = rows[1]["id_number"]
    good = [row for i, row in enumerate(rows, start=1) if i not in BAD]
    expected = expected_months(good)
    text = csv_bytes(rows, DEPOSITS, headers="zh").decode()
    assert text.startswith("身份证号,姓名,缴存单位信用代码,缴存单位,缴存月份,所属地区")
    body = text.encode("gb18030")
    headers = {**GB18030_CSV, "Idempotency-Key": "fund-2024-10"}

    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        response = await fund.post(f"{API}/deposits", content=body, headers=headers)
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert (receipt["status"], receipt["feed"]) == ("partially_accepted", "deposits")
        assert (receipt["received"], receipt["accepted"], receipt["rejected"], receipt["changed"]) == (
            len(rows),
            len(good),
            len(BAD),
            len(good),
        )
        assert [(e["row"], e["field"], e["code"]) for e in receipt["errors"]] == [(n, *BAD[n]) for n in sorted(BAD)]
        assert all(e["message"] for e in receipt["errors"])
        assert_no_id_numbers({bad_id}, texts=[response.text])
        assert not any(period in response.text for period in ("202413", *IMPLAUSIBLE_PERIODS.values()))

        records = await published(tail, fund_db.url, exactly=len(expected))
        payloads = by_person(records)
        assert months_by_person(payloads) == expected
        assert all(m.batch_id == receipt["batch_id"] for p in payloads.values() for m in p.months)
        masks = {person_key(i): mask_id_number(i) for i in ids}
        assert all(p.masked_id == masks[k] for k, p in payloads.items())
        assert_no_id_numbers(ids | {bad_id}, records=records)

        # The person view holds the event payload's months, in its order, as a page.
        for person_ref, payload in payloads.items():
            view = await fund.get(f"{API}/persons/{person_ref}/deposits")
            assert view.status_code == 200
            assert view.json() == {"items": payload.model_dump(mode="json")["months"], "next_cursor": None}
        assert (await fund.get(f"{API}/persons/{person_key(bad_id)}/deposits")).status_code == 404

        # The same Idempotency-Key: the first receipt, nothing written, nothing published.
        stored = await table_digest(fund_db.url, "deposits")
        replayed = await fund.post(f"{API}/deposits", content=body, headers=headers)
        assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.json() == receipt
        await published(tail, fund_db.url, exactly=0)
        assert await table_digest(fund_db.url, "deposits") == stored
        assert await db_value(fund_db.url, "SELECT count(*) FROM ingest_batches") == 1
        # The same rows without a key: a new batch that changes nothing.
        resent = await upload(fund, API, DEPOSITS, good)
        assert resent["batch_id"] != receipt["batch_id"]
        assert (resent["status"], resent["accepted"], resent["changed"]) == ("accepted", len(good), 0)
        await published(tail, fund_db.url, exactly=0)
        assert await table_digest(fund_db.url, "deposits") == stored

        # Replay: one event per person, stating the same; nothing since the future; an unknown stream is refused.
        response = await fund.post(f"{API}/replay", json={"streams": ["deposits"]})
        assert response.status_code == 200 and response.json() == {"queued": {"deposits": len(expected)}}
        again = await published(tail, fund_db.url, exactly=len(expected))
        assert by_person(again) == payloads
        assert not {event_of(r)["id"] for r in again} & {event_of(r)["id"] for r in records}
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        response = await fund.post(f"{API}/replay", json={"since": future})
        assert response.json() == {"queued": {"deposits": 0}}
        assert (await fund.post(f"{API}/replay", json={"streams": ["contributions"]})).status_code == 422
        await published(tail, fund_db.url, exactly=0)
    assert await table_digest(fund_db.url, "deposits") == stored
    assert await db_value(fund_db.url, "SELECT count(*) FROM deposits") == len(good)
    assert await db_value(fund_db.url, "SELECT count(*) FROM ingest_batches") == 2


async def test_deposit_retraction(fund, fund_db, infra):
    batch_a = deposits(30, seed=32)
    people = sorted({row["id_number"] for row in batch_a})[:4]
    their_units = {row["unit_uscc"] for row in batch_a if row["id_number"] in people}
    payer = next(row for row in batch_a if row["unit_uscc"] not in their_units)
    batch_b = [
        {**row, "unit_uscc": payer["unit_uscc"], "unit_name": payer["unit_name"], "region_code": payer["region_code"]}
        for row in batch_a
        if row["id_number"] in people
    ]
    keys = {person_key(i) for i in people}
    expected_a = expected_months(batch_a)
    expected_ab = expected_months(batch_a + batch_b)

    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        await upload(fund, API, DEPOSITS, batch_a)
        await published(tail, fund_db.url, exactly=len(expected_a))
        b = await upload(fund, API, DEPOSITS, batch_b)
        assert b["changed"] == len(batch_b)
        after_b = by_person(await published(tail, fund_db.url, exactly=len(keys)))
        assert months_by_person(after_b) == {k: expected_ab[k] for k in keys}

        response = await fund.post(f"{API}/batches/{b['batch_id']}/retract")
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["rows_retracted"], result["already_retracted"]) == (len(batch_b), False)
        assert result["receipt"]["status"] == "retracted"
        after = by_person(await published(tail, fund_db.url, exactly=len(keys)))
        assert months_by_person(after) == {k: expected_a[k] for k in keys}
        for person_ref in keys:
            view = (await fund.get(f"{API}/persons/{person_ref}/deposits")).json()
            assert months_of(view["items"]) == expected_a[person_ref]

        stored = await table_digest(fund_db.url, "deposits")
        again = await fund.post(f"{API}/batches/{b['batch_id']}/retract")
        assert again.status_code == 200
        assert (again.json()["rows_retracted"], again.json()["already_retracted"]) == (0, True)
        assert (await fund.post(f"{API}/batches/{uuid.uuid4()}/retract")).status_code == 404
        broken = [dict(batch_b[0], period="2024-13"), *batch_b[1:]]
        rejected = await upload(fund, API, DEPOSITS, broken, mode="all_or_nothing")
        assert rejected["status"] == "rejected"
        assert (await fund.post(f"{API}/batches/{rejected['batch_id']}/retract")).status_code == 409
        await published(tail, fund_db.url, exactly=0)
        assert await table_digest(fund_db.url, "deposits") == stored
    assert await db_value(fund_db.url, "SELECT count(*) FROM deposits WHERE retracted_at IS NOT NULL") == len(batch_b)
