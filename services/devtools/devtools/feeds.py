"""Helpers for the tests of the feed services (registry, insurance, fund): rows as upload bodies, uploads,
what a service published, and its person-level events.

Raw ID numbers and names never appear in what these fail with: a failure names counts and kinds only.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeVar

import asyncpg
import httpx
import orjson

from devtools.synthetic import write_csv
from devtools.testing import TopicTail, wait_outbox_empty
from domain.identifiers import id_check_char
from domain.records import FIELDS, RecordKind
from kernel.events import EventPayload
from kernel.privacy import Pseudonymizer
from kernel.settings import DEV_PEPPER

CSV = {"content-type": "text/csv"}
GB18030_CSV = {"content-type": "text/csv; charset=gb18030"}
NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json"}
MASKED_ID = re.compile(r"^\d{6}\*{10}[\dX]{2}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

_PSEUDONYMS = Pseudonymizer(DEV_PEPPER.encode())
P = TypeVar("P", bound=EventPayload)


def person_key(id_number: str) -> str:
    """The pseudonym (person_ref) the services give this ID number under the development pepper."""
    return _PSEUDONYMS.person_key(id_number)


def broken_checksum(id_number: str) -> str:
    """The ID number with a wrong check character."""
    return id_number[:17] + ("0" if id_check_char(id_number[:17]) != "0" else "1")


def csv_bytes(
    rows: Iterable[dict[str, Any]],
    kind: RecordKind,
    *,
    fields: Sequence[str] | None = None,
    headers: Literal["en", "zh"] = "en",
    encoding: str = "utf-8",
) -> bytes:
    """The rows as a CSV upload of `kind`: its fields (or `fields`), English or Chinese headers."""
    buf = io.StringIO()
    write_csv(rows, FIELDS[kind] if fields is None else fields, buf, headers=headers, kind=kind)
    return buf.getvalue().encode(encoding)


async def upload(
    client: httpx.AsyncClient, api: str, kind: RecordKind, rows: Iterable[dict[str, Any]], **params: Any
) -> dict[str, Any]:
    """Posts the rows as CSV to the feed of `kind` under `api`; the receipt of a new batch."""
    response = await client.post(f"{api}/{kind.value}", content=csv_bytes(rows, kind), headers=CSV, params=params)
    assert response.status_code == 201, response.text  # an error body never echoes the upload
    return response.json()


async def tolerate_bad_rows(client: httpx.AsyncClient, api: str, kind: RecordKind, *, client_id: str = "tests") -> None:
    """Sets `client_id`'s profile for the feed so that no share of bad rows refuses its uploads (the default
    refuses a file with more than 5%): for tests about row errors rather than the threshold. `tests` is the
    actor of the tests' own (service) credential; `caller_headers` acts as `test-officer`."""
    response = await client.put(f"{api}/feeds/{kind.value}/profiles/{client_id}", json={"reject_above_percent": 100})
    assert response.status_code == 200, response.text


async def db_value(database_url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def table_digest(database_url: str, table: str, *, ignore: Sequence[str] = ()) -> str:
    """A digest of every row of `table` but its columns `ignore`: the same digest, the same rows."""
    row = "(to_jsonb(t) - $1::text[])::text"
    return await db_value(
        database_url, f"SELECT md5(coalesce(string_agg({row}, E'\\n' ORDER BY {row}), '')) FROM {table} t", list(ignore)
    )


def expect_events(records: list[Any], count: int) -> list[Any]:
    """`records` when there are `count` of them; else a failure naming only the numbers (events hold names)."""
    if len(records) != count:
        raise AssertionError(f"{len(records)} events where {count} were expected")
    return records


async def published(tail: TopicTail, database_url: str, *, exactly: int, timeout: float = 30.0) -> list[Any]:
    """Everything the service at `database_url` published to the tail's topic since it opened, which must be
    `exactly` events: its outbox is drained first, so nothing is still on its way."""
    await wait_outbox_empty(database_url, timeout=timeout)
    return expect_events(await tail.read_to_end(timeout=timeout), exactly)


def event_payloads(records: Iterable[Any], model: type[P]) -> dict[str, P]:
    """The payloads of person-level events (keyed and subjected by person_ref) by person_ref.

    Fails when an event is not a CloudEvent of `model`'s type, is keyed otherwise, carries no masked ID,
    or when a person has more than one event.
    """
    payloads: dict[str, P] = {}
    for record in records:
        event = orjson.loads(record.value)
        if (event["specversion"], event["type"]) != ("1.0", model.event_type):
            raise AssertionError(f"an event of type {event['type']} where {model.event_type} was expected")
        if dict(record.headers)["content-type"] != b"application/cloudevents+json":
            raise AssertionError("an event without the CloudEvents content type")
        person_ref = event["data"]["person_ref"]
        if record.key != person_ref.encode() or event["subject"] != person_ref:
            raise AssertionError("an event not keyed and subjected by its person_ref")
        if not MASKED_ID.match(event["data"]["masked_id"]):
            raise AssertionError("an event whose masked_id is not masked")
        if person_ref in payloads:
            raise AssertionError("a person got more than one event")
        payloads[person_ref] = model.model_validate(event["data"])
    return payloads


def assert_no_id_numbers(id_numbers: Iterable[str], *, texts: Iterable[str] = (), records: Iterable[Any] = ()) -> None:
    """Fails, naming none, when a raw ID number (upper or lower case) is in one of `texts` or in a record's
    key, value or header values."""
    parts = [text.encode() for text in texts]
    for record in records:
        parts += [record.key or b"", record.value or b"", *(value for _, value in record.headers or ())]
    blob = b"\n".join(parts)
    leaked = sum(1 for i in set(id_numbers) if i.encode() in blob or i.lower().encode() in blob)
    if leaked:
        raise AssertionError(f"{leaked} raw ID numbers got out")
