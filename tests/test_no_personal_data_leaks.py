"""No ID number appears in any event, log line or error message produced during realistic traffic.

insurance-svc and fund-svc run in-process with their outbox relays. The traffic holds valid IDs, a
lowercase `x`, IDs with a wrong check character (still ID-shaped), bad rows, malformed uploads,
retractions, replays and an ID mistakenly put in a URL. Every log line (as `kernel.logs.JsonFormatter`
writes it), every published record and every HTTP response is kept, and searched for the raw IDs.
Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Literal

import asyncpg
import httpx
import orjson
import pytest

from devtools.feeds import tolerate_bad_rows
from devtools.synthetic import generate_province, write_csv
from devtools.testing import TopicTail, running, wait_outbox_empty
from domain.identifiers import id_check_char
from domain.records import FIELDS, INSURANCE_TYPE_LABELS, RecordKind
from fund_svc.main import create_app as create_fund
from fund_svc.main import service as fund_service
from insurance_svc.main import create_app as create_insurance
from insurance_svc.main import service as insurance_service
from kernel.privacy import Pseudonymizer, mask_id_number
from kernel.settings import DEV_PEPPER

INSURANCE = "/api/v1/insurance"
FUND = "/api/v1/fund"
TOPICS = ("insurance.contributions", "insurance.person-status", "fund.deposits")
PSEUDONYMS = Pseudonymizer(DEV_PEPPER.encode())
CSV = {"content-type": "text/csv"}
GB18030_CSV = {"content-type": "text/csv; charset=gb18030"}
NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json"}


@pytest.fixture
def databases(service_database):
    """Fresh databases for insurance-svc and fund-svc (created outside the test's event loop)."""
    return service_database(insurance_service), service_database(fund_service)


def broken_checksum(id_number: str) -> str:
    return id_number[:17] + ("0" if id_check_char(id_number[:17]) != "0" else "1")


def csv_text(rows: Iterable[dict], kind: RecordKind, *, headers: Literal["en", "zh"] = "en") -> str:
    buf = io.StringIO()
    write_csv(rows, FIELDS[kind], buf, headers=headers, kind=kind)
    return buf.getvalue()


async def table_dump(url: str) -> str:
    """Every row of every table of a service database, as text (ciphertext shows as hex)."""
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        parts = []
        for table in tables:
            parts += [r[0] for r in await conn.fetch(f'SELECT t::text FROM "{table}" t')]
        return "\n".join(parts)
    finally:
        await conn.close()


async def test_no_id_number_in_events_logs_or_errors(databases, infra, log_lines):
    province = generate_province(people=40, seed=41, insurance_types=("01", "03"))
    contributions = [dict(r) for r in province.contributions]
    deposits = [dict(r) for r in province.deposits]
    valid_ids = {r["id_number"] for r in contributions} | {r["id_number"] for r in deposits}
    with_x = sorted(i for i in valid_ids if i.endswith("X"))
    assert with_x, "the synthetic province has an ID ending in X"

    # Bad input that still carries ID numbers.
    bad_ids = [broken_checksum(contributions[2]["id_number"]), broken_checksum(deposits[4]["id_number"])]
    contributions[2]["id_number"] = bad_ids[0]
    contributions[5]["period"] = "2024-13"
    contributions[8]["insurance_type"] = "09"
    contributions[11]["name"] = "王\x00五"
    for row in contributions:
        if row["id_number"] == with_x[0]:
            row["id_number"] = row["id_number"].lower()  # a lowercase x is accepted
        if row["insurance_type"] == "03":
            row["insurance_type"] = INSURANCE_TYPE_LABELS["03"]
    deposits[4]["id_number"] = bad_ids[1]
    deposits[7]["unit_uscc"] = ""
    for row in deposits[::2]:
        row["period"] = row["period"].replace("-", "")
    people = sorted({(r["id_number"], r["name"]) for r in province.contributions})[:6]
    statuses = [
        {"身份证号": people[0][0], "姓名": people[0][1], "状态": "退休", "起始日期": "2021-10-31"},
        {"身份证号": people[1][0], "姓名": people[1][1], "状态": "买断社保", "起始日期": "2001-06-05"},
        {"身份证号": broken_checksum(people[2][0]), "姓名": people[2][1], "状态": "退休"},
        {"身份证号": people[3][0], "姓名": people[3][1], "状态": "去世"},
    ]
    bad_ids += [broken_checksum(people[2][0]), broken_checksum(people[5][0])]
    all_ids = valid_ids | set(bad_ids)
    accepted_ids = {r["id_number"].upper() for r in contributions + deposits} - set(bad_ids)

    responses: list[str] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        responses.append(f"{response.status_code} {dict(response.headers)} {response.text}")

    insurance_db, fund_db = databases
    tails = [TopicTail(infra.bootstrap_servers, topic) for topic in TOPICS]
    for tail in tails:
        await tail.__aenter__()
    try:
        async with (
            running(create_insurance(insurance_db.settings(infra))) as insurance,
            running(create_fund(fund_db.settings(infra))) as fund,
        ):
            insurance.event_hooks["response"] = [keep]
            fund.event_hooks["response"] = [keep]
            # These uploads are about errors, not the rejection threshold: a file with many bad rows is applied.
            for client, api, kind in (
                (insurance, INSURANCE, RecordKind.contributions),
                (insurance, INSURANCE, RecordKind.person_statuses),
                (fund, FUND, RecordKind.deposits),
            ):
                await tolerate_bad_rows(client, api, kind)

            # insurance-svc: a GB18030 CSV with Chinese headers and bad rows, twice under one key.
            body = csv_text(contributions, RecordKind.contributions, headers="zh").encode("gb18030")
            first = await insurance.post(
                f"{INSURANCE}/contributions", content=body, headers={**GB18030_CSV, "Idempotency-Key": "leak-1"}
            )
            assert first.status_code == 201, first.text
            assert first.json()["rejected"] == 4 and first.json()["accepted"] == len(contributions) - 4
            every_error = await insurance.get(f"{INSURANCE}/batches/{first.json()['batch_id']}/errors")
            assert every_error.status_code == 200 and len(every_error.text.splitlines()) == 5
            replay = await insurance.post(
                f"{INSURANCE}/contributions", content=body, headers={**GB18030_CSV, "Idempotency-Key": "leak-1"}
            )
            assert replay.status_code == 200
            rejected = await insurance.post(
                f"{INSURANCE}/contributions", params={"mode": "all_or_nothing"}, content=body, headers=GB18030_CSV
            )
            assert rejected.json()["status"] == "rejected"
            # Whole-upload failures: GB18030 sent as UTF-8, a headerless CSV (its first row, with an ID, taken
            # as the header), the wrong media type, a broken JSON array.
            assert (await insurance.post(f"{INSURANCE}/contributions", content=body, headers=CSV)).status_code == 422
            headerless = csv_text(contributions[:5], RecordKind.contributions).split("\n", 1)[1].encode()
            assert (
                await insurance.post(f"{INSURANCE}/contributions", content=headerless, headers=CSV)
            ).status_code == 422
            plain = await insurance.post(
                f"{INSURANCE}/contributions", content=body, headers={"content-type": "text/plain"}
            )
            assert plain.status_code == 415
            broken_json = orjson.dumps([{"id_number": people[4][0], "name": people[4][1]}])[:-3]
            assert (
                await insurance.post(f"{INSURANCE}/contributions", content=broken_json, headers=JSON)
            ).status_code == 422
            # Rows in JSON: one not an object, one with the ID as a JSON number.
            as_json = [
                {**contributions[0], "period": "2023-01"},
                [people[5][0]],
                {**contributions[0], "id_number": int(broken_checksum(people[5][0])), "period": "2023-02"},
            ]
            response = await insurance.post(f"{INSURANCE}/contributions", content=orjson.dumps(as_json), headers=JSON)
            assert response.status_code == 201 and response.json()["rejected"] == 2
            # Person statuses as NDJSON, with a line that is not JSON and holds an ID.
            ndjson = b"\n".join(orjson.dumps(s) for s in statuses) + f'\n{{"身份证号": "{people[4][0]}", '.encode()
            response = await insurance.post(f"{INSURANCE}/person_statuses", content=ndjson, headers=NDJSON)
            assert response.status_code == 201 and response.json()["rejected"] == 3
            # Reads: by pseudonym, and by an ID someone put in the URL by mistake.
            ref = PSEUDONYMS.person_key(people[0][0])
            view = await insurance.get(f"{INSURANCE}/persons/{ref}/contributions")
            assert view.status_code == 200 and view.json()["items"]
            assert (await insurance.get(f"{INSURANCE}/persons/{ref}/person_statuses")).status_code == 200
            misused = await insurance.get(f"{INSURANCE}/persons/{people[1][0]}/contributions")
            assert misused.status_code == 404
            retracted = await insurance.post(f"{INSURANCE}/batches/{first.json()['batch_id']}/retract")
            assert retracted.status_code == 200 and retracted.json()["rows_retracted"] > 0
            assert (await insurance.post(f"{INSURANCE}/replay", json={})).status_code == 200
            assert (await insurance.post(f"{INSURANCE}/replay", json={"streams": ["nope"]})).status_code == 422

            # fund-svc: GB18030 with Chinese headers, an NDJSON upload, retraction, replay, a read.
            body = csv_text(deposits, RecordKind.deposits, headers="zh").encode("gb18030")
            deposited = await fund.post(f"{FUND}/deposits", content=body, headers=GB18030_CSV)
            assert deposited.status_code == 201 and deposited.json()["rejected"] == 2
            lines = b"\n".join(orjson.dumps({**d, "period": "2023-03"}) for d in deposits[:10])
            assert (await fund.post(f"{FUND}/deposits", content=lines, headers=NDJSON)).status_code == 201
            fund_view = await fund.get(f"{FUND}/persons/{PSEUDONYMS.person_key(deposits[0]['id_number'])}/deposits")
            assert fund_view.status_code == 200 and fund_view.json()["items"]
            assert (await fund.post(f"{FUND}/batches/{deposited.json()['batch_id']}/retract")).status_code == 200
            assert (await fund.post(f"{FUND}/replay", json={"streams": ["deposits"]})).status_code == 200

            # Everything accepted is on the bus once the outboxes are empty: read it all, no silence needed.
            await wait_outbox_empty(insurance_db.url)
            await wait_outbox_empty(fund_db.url)
            published = {tail.topic: await tail.read_to_end() for tail in tails}
            assert all(published.values()), {topic: len(got) for topic, got in published.items()}
            records = [record for topic_records in published.values() for record in topic_records]
            insurance_rows = await table_dump(insurance_db.url)
            fund_rows = await table_dump(fund_db.url)
    finally:
        for tail in tails:
            await tail.__aexit__()

    events = "\n".join(
        (r.key or b"").decode() + " " + r.value.decode() + " " + " ".join(v.decode() for _, v in r.headers or ())
        for r in records
    )
    logs = "\n".join(log_lines)
    bodies = "\n".join(responses)
    stored = insurance_rows + "\n" + fund_rows
    assert len(records) > len(accepted_ids)  # uploads, retractions and replays all published
    assert len(log_lines) > 20 and len(responses) >= 20
    assert any("upload stored" in line for line in log_lines) and any("outbox published" in line for line in log_lines)
    assert not any(b.startswith("500") for b in responses)

    def leaked(text: str) -> int:
        return sum(1 for i in all_ids if i in text or i.lower() in text)

    assert leaked(events) == 0, "an ID number in a published record"
    assert leaked(logs) == 0, "an ID number in a log line"
    assert leaked(bodies) == 0, "an ID number in an HTTP response"
    assert leaked(stored) == 0, "an ID number stored in clear"

    # Masked forms are where they belong: every accepted person's in the events, and the ID put in a URL by
    # mistake masked in the log line that records the request (a person's read is a page of months, no ID).
    assert all(mask_id_number(i) in events for i in accepted_ids)
    assert mask_id_number(people[1][0]) in logs
    assert all(mask_id_number(i) not in bodies for i in bad_ids)  # rejected rows are not echoed, even masked
