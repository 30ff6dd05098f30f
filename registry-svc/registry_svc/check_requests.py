"""Check requests (核查), as both seeds' campaigns prescribe them: the construction bureau gives each city's 社保
centre and 公积金 centre the list of the people registered there, and the centres answer with those people's
payments.

A request is issued for one city and one centre; its people are fixed at issue (an active registration in
the city then). The centre downloads the list in its own format — only what it needs to find a person: the
ID number and the name — and answers by uploading payments to insurance-svc or fund-svc
(ingest.check_requests: naming the request, or any upload while data minimisation is on). Those services
hold the answers; a request's status asks them (`answers_of`), so it is always what they hold now: a
retracted upload answers nothing.

Who sees a request: the callers whose regions hold its city; a centre's feed client (role insurance_feed or
fund_feed) only the requests issued to its centre.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import asyncpg
from openpyxl import Workbook

from ingest.check_requests import Answer, Centre, Requested, RequestedList, answers_of
from ingest.formats import XLSX
from kernel.credentials import Caller
from kernel.errors import Forbidden, Invalid, NotFound
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.references import next_reference
from kernel.regions import like_prefix, region_full_name
from kernel.scope import RegionScope
from kernel.service import Runtime
from kernel.spreadsheets import inert_cell
from kernel.values import china_today
from registry_svc.schemas import CheckRequest, CheckRequestIssue
from registry_svc.settings import RegistrySettings

# The centre a feed client speaks for (kernel.credentials: the role its credential states).
CENTRE_OF_ROLE = {"insurance_feed": Centre.insurance, "fund_feed": Centre.fund}

# The list's columns as each centre's system names them (金保 AAC002/AAC003; 公积金 ZJHM/XINGMING), or in Chinese.
DOWNLOAD_COLUMNS: dict[Centre, dict[str, tuple[str, str]]] = {
    Centre.insurance: {"codes": ("AAC002", "AAC003"), "chinese": ("公民身份号码", "姓名")},
    Centre.fund: {"codes": ("ZJHM", "XINGMING"), "chinese": ("证件号码", "姓名")},
}
LIST_TITLES = {Centre.insurance: "社保核查名单", Centre.fund: "公积金核查名单"}
XLSX_MEDIA_TYPE = XLSX
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

_COLUMNS = "request_id, request_ref, region_code, centre, issued_at, issued_by, due_on, people, downloaded_at"


def today() -> date:
    return china_today()


def caller_centre(caller: Caller) -> Centre | None:
    """The centre the caller speaks for, or None (officers, services)."""
    return CENTRE_OF_ROLE.get(caller.role)


# --- issuing -------------------------------------------------------------------------------------


async def issue(
    pg: asyncpg.Connection,
    runtime: Runtime[RegistrySettings],
    caller: Caller,
    scope: RegionScope,
    body: CheckRequestIssue,
) -> CheckRequest:
    """A new request for the city and centre, listing who has an active registration in the city now."""
    scope.require_region(body.region_code, ["body", "region_code"])
    if caller_centre(caller) is not None:
        raise Forbidden("a centre answers check requests; the construction bureau issues them", loc=["body"])
    issued_on = today()
    due_on = body.due_on or issued_on + timedelta(days=runtime.settings.check_request_due_days)
    if due_on < issued_on:
        raise Invalid("the due date has passed already", loc=["body", "due_on"])
    request_id = uuid.uuid4()
    request_ref = await next_reference(pg, "HC", body.region_code, issued_on.year)
    await pg.execute(
        "INSERT INTO check_requests (request_id, request_ref, region_code, centre, issued_by, due_on, people) "
        "VALUES ($1, $2, $3, $4, $5, $6, 0)",
        request_id,
        request_ref,
        body.region_code,
        body.centre.value,
        caller.actor,
        due_on,
    )
    people = await pg.fetchval(
        "WITH listed AS (INSERT INTO check_request_people (request_id, person_key) "
        "SELECT DISTINCT $1::uuid, person_key FROM registrations WHERE status = 'active' AND region_code LIKE $2 "
        "RETURNING 1) SELECT count(*) FROM listed",
        request_id,
        like_prefix(body.region_code),
    )
    if not people:  # the route's transaction is rolled back: nothing was issued
        raise Invalid("nobody has an active registration in this city: there is no one to check",
                      loc=["body", "region_code"])  # fmt: skip
    row = await pg.fetchrow(
        f"UPDATE check_requests SET people = $2 WHERE request_id = $1 RETURNING {_COLUMNS}", request_id, people
    )
    return _with_answer(row, None, issued_on)


# --- reading -------------------------------------------------------------------------------------


async def visible(pg: asyncpg.Connection, request_ref: str, scope: RegionScope, caller: Caller) -> asyncpg.Record:
    """The request, when the caller may see it; otherwise a 404 worded as for an unknown number."""
    row = await pg.fetchrow(f"SELECT {_COLUMNS} FROM check_requests WHERE request_ref = $1", request_ref)
    centre = caller_centre(caller)
    if row is None or not scope.allows(row["region_code"]) or (centre is not None and row["centre"] != centre):
        raise NotFound("no check request with this number", loc=["path", "request_ref"])
    return row


async def status(runtime: Runtime, row: asyncpg.Record) -> CheckRequest:
    [found] = await with_answers(runtime, [row])
    return found


async def page(
    pg: asyncpg.Connection,
    runtime: Runtime,
    scope: RegionScope,
    caller: Caller,
    *,
    region_code: str,
    centre: Centre | None,
    overdue_only: bool,
    cursor: str | None,
    limit: int,
) -> Page[CheckRequest]:
    """The requests of the region (and under it) within the caller's regions, by number, in keyset pages;
    `overdue_only`: those not answered by their due date (the reminder list)."""
    [after] = decode_cursor(cursor, [""])
    own = caller_centre(caller)
    if own is not None and centre not in (None, own):
        return Page[CheckRequest](items=[], next_cursor=None)
    centre = centre or own
    rows = await pg.fetch(
        f"SELECT {_COLUMNS} FROM check_requests WHERE region_code LIKE ANY($1::text[]) "
        "AND ($2::text IS NULL OR centre = $2) AND request_ref > $3 AND ($4::date IS NULL OR due_on < $4) "
        "ORDER BY request_ref LIMIT $5",
        scope.within(region_code),
        centre.value if centre else None,
        after,
        today() if overdue_only else None,
        # Past-due requests are few (cities × centres × issues): all of them, their answers asked at once.
        None if overdue_only else limit + 1,
    )
    items = await with_answers(runtime, rows)
    if overdue_only:
        items = [item for item in items if item.overdue]
    next_cursor = encode_cursor([items[limit - 1].request_ref]) if len(items) > limit else None
    return Page[CheckRequest](items=items[:limit], next_cursor=next_cursor)


async def with_answers(runtime: Runtime, rows: Sequence[asyncpg.Record]) -> list[CheckRequest]:
    """The requests with their centres' answers (one call per centre)."""
    refs: dict[Centre, list[str]] = defaultdict(list)
    for row in rows:
        refs[Centre(row["centre"])].append(row["request_ref"])
    answers: dict[str, Answer] = {}
    for centre, named in refs.items():
        answers |= await answers_of(runtime, centre, named)
    on = today()  # one day for every request of the page
    return [_with_answer(row, answers.get(row["request_ref"]), on) for row in rows]


def _with_answer(row: Mapping[str, Any], answer: Answer | None, on: date) -> CheckRequest:
    """The request's status on the day `on`."""
    answered = answer is not None and answer.people > 0
    return CheckRequest(
        request_ref=row["request_ref"],
        region_code=row["region_code"],
        region_name=region_full_name(row["region_code"]),
        centre=row["centre"],
        issued_at=row["issued_at"],
        issued_by=row["issued_by"],
        due_on=row["due_on"],
        people=row["people"],
        status="answered" if answered else "downloaded" if row["downloaded_at"] else "issued",
        downloaded_at=row["downloaded_at"],
        answered_people=answer.people if answer else 0,
        first_answered_at=answer.first_answered_at if answer else None,
        last_answered_at=answer.last_answered_at if answer else None,
        overdue=not answered and row["due_on"] < on,
    )


# --- the list a centre downloads ---------------------------------------------------------------


async def download(
    pg: asyncpg.Connection, runtime: Runtime, row: asyncpg.Record, caller: Caller, *, fmt: str, columns: str
) -> tuple[bytes, str, str]:
    """The request's people as the centre imports them: (content, media type, file name). Full ID numbers: the
    gateway writes each person to its access log. The centre's own first download is noted."""
    if not caller.sees_personal_data:
        raise Forbidden("this role sees no personal data", loc=["path", "request_ref"])
    centre = Centre(row["centre"])
    sealed = await pg.fetch(
        "SELECT p.id_cipher, p.id_key_id, p.name FROM check_request_people c JOIN persons p USING (person_key) "
        "WHERE c.request_id = $1",
        row["request_id"],
    )
    people = sorted((runtime.cipher.decrypt(p["id_key_id"], p["id_cipher"]), p["name"]) for p in sealed)
    if caller_centre(caller) is centre:
        await pg.execute(
            "UPDATE check_requests SET downloaded_at = now() WHERE request_id = $1 AND downloaded_at IS NULL",
            row["request_id"],
        )
    header = DOWNLOAD_COLUMNS[centre][columns]
    cells = [[inert_cell(value) for value in person] for person in people]
    stem = f"{row['request_ref']}-{LIST_TITLES[centre]}"
    if fmt == "xlsx":
        return _xlsx(row["request_ref"], header, cells), XLSX_MEDIA_TYPE, f"{stem}.xlsx"
    return _csv(header, cells), CSV_MEDIA_TYPE, f"{stem}.csv"


def _csv(header: Sequence[str], rows: list[list[str]]) -> bytes:
    """UTF-8 with a BOM (Excel and WPS open it as Chinese text), the header line first: a file to import."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _xlsx(sheet_name: str, header: Sequence[str], rows: list[list[str]]) -> bytes:
    """One sheet, the header row first; ID numbers stay text (never a number Excel would round)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name[:31])
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 14
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- what the centres' services ask --------------------------------------------------------------


async def requested(
    pg: asyncpg.Connection, *, centre: Centre | None, regions: Sequence[str], request_ref: str | None
) -> Requested:
    """The requests (of `centre`, or every one) whose city overlaps `regions` — or the one numbered
    `request_ref` among them — each with its people's pseudonyms."""
    scope = RegionScope.of(regions)
    rows = await pg.fetch(
        "SELECT r.request_ref, r.region_code, array_agg(c.person_key ORDER BY c.person_key) AS people "
        "FROM check_requests r JOIN check_request_people c USING (request_id) "
        "WHERE ($1::text IS NULL OR r.centre = $1) AND ($2::text IS NULL OR r.request_ref = $2) "
        "GROUP BY r.request_id ORDER BY r.request_ref",
        centre.value if centre else None,
        request_ref,
    )
    # A centre client of a county may answer its city's request for its county's rows: overlap, both ways.
    return Requested(
        requests=[RequestedList.model_validate(dict(row)) for row in rows if scope.patterns(row["region_code"])]
    )
