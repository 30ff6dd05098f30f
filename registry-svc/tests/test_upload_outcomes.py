"""What a bureau gets back from an upload (issue 14): a file with too many bad rows refused whole, a dry run
that stores nothing, every error as a download naming the column as written and where it is, messages in
Chinese (English on request), and templates the feed accepts as they are.

Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from functools import cache
from typing import Any

import orjson
from openpyxl import load_workbook

from devtools.feeds import CSV, assert_no_id_numbers, broken_checksum, csv_bytes, db_value, tolerate_bad_rows
from devtools.synthetic import generate_province
from devtools.testing import running
from domain.records import ZH_HEADERS, RecordKind
from ingest.messages import Language, language, render
from ingest.receipts import RowError
from ingest.row_errors import column_letter, write_csv, write_xlsx
from registry_svc.feeds import FEEDS
from registry_svc.main import create_app

API = "/api/v1/registry"
KIND = RecordKind.registrations
EN = {"Accept-Language": "en-US,en;q=0.9"}


@cache
def _province() -> Any:
    return generate_province(people=250, with_payments=False)


def registrations(count: int, *, start: int = 0) -> list[dict]:
    """`count` distinct registrations from the `start`th (copies: tests alter them)."""
    rows = _province().registrations
    assert len(rows) >= start + count
    return [dict(row) for row in rows[start : start + count]]


def break_dates(rows: list[dict], count: int) -> None:
    """Gives `count` rows (every tenth) a date that is not one."""
    for index in range(count):
        rows[index * 10]["registered_on"] = "2024-13-45"


# Events ever written to the outbox: its sequence, since the relay deletes what it has published.
EVENTS_WRITTEN = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM outbox_id_seq"


async def stored(registry_db) -> dict[str, int]:
    counts = {
        table: await db_value(registry_db.url, f"SELECT count(*) FROM {table}")
        for table in ("ingest_batches", "ingest_errors", "registrations", "persons")
    }
    return counts | {"outbox": await db_value(registry_db.url, EVENTS_WRITTEN)}


# --- the rejection threshold, the client's profile, a dry run ------------------------------------


async def test_too_many_bad_rows_refuse_a_file_whole_and_a_dry_run_stores_nothing(registry, registry_db):
    first, second, third = registrations(100), registrations(100, start=100), registrations(20, start=200)
    break_dates(first, 6)
    response = await registry.post(f"{API}/registrations", content=csv_bytes(first, KIND), headers=CSV)
    assert response.status_code == 201, response.text
    receipt = response.json()
    summary = (receipt["status"], receipt["received"], receipt["accepted"], receipt["rejected"])
    assert summary == ("rejected", 100, 0, 100)
    reason = receipt["reason"]
    assert reason["code"] == "rejected_over_threshold"
    assert reason["params"] == {"rows_in_error": 6, "rejected_percent": 6.0, "threshold_percent": 5.0}
    assert "6.0%" in reason["message"] and "5.0%" in reason["message"] and "未入库" in reason["message"]
    assert [e["row"] for e in receipt["errors"]] == [1, 11, 21, 31, 41, 51]
    nothing_applied = {"ingest_batches": 1, "ingest_errors": 6, "registrations": 0, "persons": 0, "outbox": 0}
    assert await stored(registry_db) == nothing_applied

    # Five in a hundred is within the threshold: the valid rows are applied.
    break_dates(second, 5)
    receipt = (await registry.post(f"{API}/registrations", content=csv_bytes(second, KIND), headers=CSV)).json()
    assert (receipt["status"], receipt["accepted"], receipt["rejected"], receipt["reason"]) == (
        "partially_accepted",
        95,
        5,
        None,
    )
    # The client's profile may allow more (`tests`: the actor of the tests' credential).
    profile = await registry.put(f"{API}/feeds/registrations/profiles/tests", json={"reject_above_percent": 6})
    assert profile.status_code == 200, profile.text
    receipt = (await registry.post(f"{API}/registrations", content=csv_bytes(first, KIND), headers=CSV)).json()
    assert (receipt["status"], receipt["accepted"]) == ("partially_accepted", 94)
    assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 95 + 94

    # A dry run checks a file as an upload would, and stores nothing.
    third[7]["id_number"] = broken_checksum(third[7]["id_number"])
    body = csv_bytes(third, KIND)
    before = await stored(registry_db)
    keyed = {**CSV, "Idempotency-Key": "dry-1"}
    response = await registry.post(f"{API}/registrations", params={"dry_run": "true"}, content=body, headers=keyed)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["dry_run"] is True and receipt["status"] == "partially_accepted"
    assert (receipt["received"], receipt["accepted"], receipt["rejected"], receipt["changed"]) == (20, 19, 1, 0)
    assert [(e["row"], e["field"], e["code"]) for e in receipt["errors"]] == [(8, "id_number", "checksum")]
    assert receipt["created_at"] is None
    for bad in (3, 4):  # 3 of 20 over the profile's 6%: the dry run says the file would be refused
        third[bad]["id_number"] = broken_checksum(third[bad]["id_number"])
    refused = await registry.post(
        f"{API}/registrations", params={"dry_run": "true"}, content=csv_bytes(third, KIND), headers=CSV
    )
    assert (refused.json()["status"], refused.json()["reason"]["code"]) == ("rejected", "rejected_over_threshold")
    assert await stored(registry_db) == before  # no batch, no errors, no records, no person, no event
    assert (await registry.get(f"{API}/batches/{receipt['batch_id']}")).status_code == 404
    # Its Idempotency-Key was not used up: the real upload under it is new.
    real = await registry.post(f"{API}/registrations", content=body, headers=keyed)
    assert real.status_code == 201 and real.json()["dry_run"] is False and real.json()["accepted"] == 19


# --- every error, where it is, in the bureau's language -------------------------------------------


def _read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _read_xlsx(content: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


async def test_every_error_is_downloadable_where_the_bureau_finds_it_in_its_language(registry_db, infra):
    rows = registrations(30)
    raw_ids = {row["id_number"] for row in rows}
    for index in range(0, 30, 3):  # 10 bad rows: over the threshold, and over the receipt's 4
        rows[index]["id_number"] = broken_checksum(rows[index]["id_number"])
        raw_ids.add(rows[index]["id_number"])
    rows[1]["category"] = "宇航员"
    rows[2]["registered_on"] = "1990-01-01"
    # A bureau's own header for the ID column and a title line above the header.
    body = csv_bytes(rows, KIND, headers="zh").decode().replace(ZH_HEADERS[KIND]["id_number"], "公民身份号码", 1)
    body = "注册人员信息导出\n" + body
    async with running(create_app(registry_db.settings(infra, max_errors_in_receipt=4))) as registry:
        receipt = (await registry.post(f"{API}/registrations", content=body.encode(), headers=CSV)).json()
        in_english = (await registry.get(f"{API}/batches/{receipt['batch_id']}", headers=EN)).json()
        base = f"{API}/batches/{receipt['batch_id']}/errors"
        as_csv = await registry.get(base)
        as_xlsx = await registry.get(base, params={"format": "xlsx"})
        csv_in_english = await registry.get(base, params={"format": "csv"}, headers=EN)
        old_zh, old_en = await _an_old_receipt(registry, registry_db)

    assert receipt["status"] == "rejected" and len(receipt["errors"]) == 4 and receipt["errors_omitted"] == 8
    first, _, implausible, _ = receipt["errors"]
    assert (first["row"], first["line"], first["column"], first["column_number"]) == (1, 3, "公民身份号码", 1)
    assert first["message"] == "身份证号码校验位不符"
    assert implausible["params"]["since"] == "2000-01-01"
    assert implausible["message"] == f"日期应在 2000-01-01 至 {implausible['params']['until']} 之间"
    assert in_english["errors"][0]["message"] == "the ID number's check character does not match"
    assert in_english["reason"]["message"].endswith("nothing was stored")
    assert in_english | {"errors": receipt["errors"], "reason": receipt["reason"]} == receipt

    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    table = _read_csv(as_csv.content)
    assert table[0] == ["记录序号", "文件中的行", "列", "列名（文件中的写法）", "字段", "错误代码", "说明"]
    expected = [
        [str(i + 1), str(i + 3), "A", "公民身份号码", "id_number", "checksum", "身份证号码校验位不符"]
        for i in range(0, 30, 3)
    ]
    where = {name: column_letter(number) for number, name in enumerate(ZH_HEADERS[KIND], start=1)}
    expected[1:1] = [
        ["2", "4", where["category"], "注册类别", "category", "invalid_choice", render("invalid_choice", None, Language.zh)],
        ["3", "5", where["registered_on"], "注册日期", "registered_on", "implausible_date", implausible["message"]],
    ]  # fmt: skip
    assert table[1:] == expected
    assert _read_xlsx(as_xlsx.content) == table
    english = _read_csv(csv_in_english.content)
    assert english[0] == ["record", "line", "column", "header as written", "field", "code", "message"]
    assert english[1][-1] == "the ID number's check character does not match"
    downloads = [as_csv.content.decode("utf-8-sig"), csv_in_english.content.decode("utf-8-sig")]
    assert_no_id_numbers(raw_ids, texts=[*downloads, orjson.dumps(_read_xlsx(as_xlsx.content)).decode()])
    assert not any("宇航员" in text or "1990-01-01" in text for text in downloads)

    # A receipt stored before messages were rendered on reading (English text, no parameters) still reads.
    assert [e["message"] for e in old_zh] == ["过长", "as it was stored"]
    assert [e["message"] for e in old_en] == ["longer than 50 characters", "as it was stored"]


async def _an_old_receipt(registry, registry_db) -> tuple[list[dict], list[dict]]:
    """A receipt as stored before errors had parameters, read in Chinese and in English."""
    old = uuid.uuid4()
    errors = [
        {"row": 3, "field": "name", "code": "too_long", "message": "longer than 50 characters"},
        {"row": 4, "field": None, "code": "a_code_from_elsewhere", "message": "as it was stored"},
    ]
    await db_value(
        registry_db.url,
        "INSERT INTO ingest_batches (batch_id, feed, mode, status, received, accepted, rejected, changed, errors, "
        "errors_omitted) VALUES ($1, 'registrations', 'valid_rows', 'partially_accepted', 5, 3, 2, 3, $2::jsonb, 0)",
        old,
        orjson.dumps(errors).decode(),
    )
    zh = (await registry.get(f"{API}/batches/{old}")).json()["errors"]
    en = (await registry.get(f"{API}/batches/{old}", headers=EN)).json()["errors"]
    return zh, en


async def test_downloads_never_hold_a_live_formula():
    error = RowError(row=1, field="name", code="too_long", message="", params={"max_length": 50}, line=2,
                     column="=HYPERLINK(\"http://example.invalid\",\"点我\")", column_number=2)  # fmt: skip

    async def one() -> AsyncIterator[RowError]:
        yield error

    as_csv, as_xlsx = io.BytesIO(), io.BytesIO()
    await write_csv(one(), Language.zh, as_csv)
    await write_xlsx(one(), Language.zh, as_xlsx)
    for table in (_read_csv(as_csv.getvalue()), _read_xlsx(as_xlsx.getvalue())):
        assert table[1][3].startswith("'=HYPERLINK")
        assert table[1][6] == "超过 50 个字符"


def test_the_language_is_what_the_request_prefers():
    assert language(None) is Language.zh
    assert language("en") is Language.en
    assert language("en-GB,en;q=0.9") is Language.en
    assert language("zh-CN,zh;q=0.9,en;q=0.8") is Language.zh
    assert language("fr-FR, en;q=0.5") is Language.en
    assert language("de") is Language.zh


# --- templates ----------------------------------------------------------------------------------


async def test_templates_are_accepted_by_their_feed_as_they_are(registry, registry_db):
    for feed in FEEDS:
        as_csv = await registry.get(f"{API}/templates/{feed.kind}", params={"format": "csv"})
        as_xlsx = await registry.get(f"{API}/templates/{feed.kind}")
        guide = (await registry.get(f"{API}/templates/{feed.kind}/guide")).json()
        assert as_csv.status_code == as_xlsx.status_code == 200
        table = _read_csv(as_csv.content)
        assert table[0] == [ZH_HEADERS[feed.kind][f.name] for f in feed.fields] and len(table) == 2
        workbook = load_workbook(io.BytesIO(as_xlsx.content), read_only=True)
        assert workbook.sheetnames == ["模板", "填写说明"]
        assert _read_xlsx(as_xlsx.content) == table
        assert [f["name"] for f in guide["fields"]] == [f.name for f in feed.fields]
        guide_sheet = list(workbook["填写说明"].iter_rows(values_only=True))
        assert [row[1] for row in guide_sheet[1:]] == [f.name for f in feed.fields]

        for content, media in ((as_csv.content, "text/csv"), (as_xlsx.content, as_xlsx.headers["content-type"])):
            receipt = (
                await registry.post(f"{API}/{feed.kind}", content=content, headers={"content-type": media})
            ).json()
            assert (receipt["status"], receipt["accepted"], receipt["errors"]) == ("accepted", 1, []), feed.kind

    statuses = (await registry.get(f"{API}/templates/registrations/guide")).json()["fields"][-1]
    assert statuses["name"] == "status" and statuses["required"] is False
    active = next(v for v in statuses["values"] if v["code"] == "active")
    assert "有效" in active["spellings"]
    english = (await registry.get(f"{API}/templates/registrations/guide", headers=EN)).json()
    assert english["fields"][0]["accepts"].startswith("an 18-character ID number")


async def test_a_header_holding_a_nul_character_is_kept_without_it(registry):
    """PostgreSQL text and jsonb hold no NUL: a header as written is kept without it, in the receipt (its
    errors and ignored columns) and in the error download alike."""
    rows = registrations(3)
    rows[0]["registered_on"] = "2024-13-45"
    header = next(csv.reader(io.StringIO(csv_bytes(rows, KIND, headers="zh").decode())))
    dated = header.index(ZH_HEADERS[KIND]["registered_on"])
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow([*header[:dated], "发证日期(\x00)", *header[dated + 1 :], "备\x00注"])
    writer.writerows(
        [*next(csv.reader(io.StringIO(line))), "x"] for line in csv_bytes(rows, KIND).decode().splitlines()[1:]
    )
    await tolerate_bad_rows(registry, API, KIND)
    response = await registry.post(f"{API}/registrations", content=body.getvalue().encode(), headers=CSV)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["accepted"], receipt["ignored_columns"]) == (2, ["备注"])
    assert [(e["field"], e["column"]) for e in receipt["errors"]] == [("registered_on", "发证日期()")]
    download = _read_csv((await registry.get(f"{API}/batches/{receipt['batch_id']}/errors")).content)
    assert download[1][3] == "发证日期()"
