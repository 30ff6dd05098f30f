"""The registry's bulk feeds: units (企业库) and registrations (注册人员), validated and stored set-wise."""

from __future__ import annotations

from typing import Any

import asyncpg

from domain.categories import CATEGORY_SPELLINGS, category_from_text
from domain.identifiers import (
    UNIT_KIND_SPELLINGS,
    normalize_unit_name,
    unit_kind_from_uscc,
    unit_kind_of_legal_form,
)
from domain.records import REGISTRATION_STATUS_SPELLINGS, SPECIALTY_SEPARATOR, RecordKind, RegistrationStatus
from ingest import bulk
from ingest.columnar import mapped
from ingest.feeds import BatchContext, ColumnarStore, Columns, Feed, Row
from ingest.fields import (
    ID_NUMBER,
    PERSON_NAME,
    REGION_CODE,
    Field,
    FieldError,
    choice_value,
    code_text,
    list_value,
    plausible_date_value,
    plausible_end_date,
    text_value,
    uscc_field,
)
from ingest.person_records import PERSON_INPUT
from ingest.persons import prepare_person, prepare_person_columns, upsert_persons_cte
from registry_svc import bars, events


def _category_as_written(text: str) -> str | None:
    """A spelling of a category beyond the list (another bracket style, a discipline with its field)."""
    try:
        return category_from_text(text).value
    except ValueError:
        return None


def _unit_kind_of_legal_form(text: str) -> str | None:
    kind = unit_kind_of_legal_form(text)
    return None if kind is None else kind.value


CATEGORY_CHOICES = {spelling: category.value for spelling, category in CATEGORY_SPELLINGS.items()}
STATUS_CHOICES = {spelling: status.value for spelling, status in REGISTRATION_STATUS_SPELLINGS.items()}
UNIT_KIND_CHOICES = {spelling: kind.value for spelling, kind in UNIT_KIND_SPELLINGS.items()}

_SPECIALTIES_MAX_LENGTH = 200


def _specialties(value: Any) -> str:
    """One specialty, or several in one cell (建筑工程；市政公用工程) or a JSON list, joined."""
    joined = SPECIALTY_SEPARATOR.join(dict.fromkeys(list_value(value)))
    if len(joined) > _SPECIALTIES_MAX_LENGTH:
        raise FieldError(
            "too_long",
            f"longer than {_SPECIALTIES_MAX_LENGTH} characters",
            {"max_length": _SPECIALTIES_MAX_LENGTH},
        )
    return joined


def join_specialties(*joined: str | None) -> str | None:
    """The specialties of several rows of one certificate, each once, in order."""
    names = dict.fromkeys(name for text in joined if text for name in text.split(SPECIALTY_SEPARATOR))
    return SPECIALTY_SEPARATOR.join(names) or None


def _merge_registration_rows(earlier: Row, later: Row) -> None:
    """Rows of one certificate in a chunk: the later row wins, with the specialties of both."""
    later["specialty"] = join_specialties(earlier["specialty"], later["specialty"])


def _upsert(table: str, key: tuple[str, ...], values: tuple[str, ...], select: str) -> str:
    """Counts new or changed records; they get the batch id as batch_id and as change id (see events)."""
    changed = bulk.upsert_changed(table, key, values, select, stamps=("batch_id", "change_id"))
    return f"changed AS ({changed}) SELECT count(*) FROM changed"


# --- units ---------------------------------------------------------------------------------

# Lists travel as text joined by U+001F: unnest cannot take arrays of arrays of varying length.
_SEP = "\x1f"

UNIT_INPUT = {
    "uscc": "text",
    "name": "text",
    "name_norm": "text",
    "former_names": "text",
    "former_names_norm": "text",
    "kind": "text",
    "head_office_uscc": "text",
    "region_code": "text",
}
UNIT_VALUES = ("name", "name_norm", "former_names", "former_names_norm", "kind", "head_office_uscc", "region_code")
_UNIT_SELECT = (
    "SELECT uscc, name, name_norm, "
    "coalesce(string_to_array(former_names, chr(31)), '{}'), "
    "coalesce(string_to_array(former_names_norm, chr(31)), '{}'), "
    f"kind, head_office_uscc, region_code, ${len(UNIT_INPUT) + 1}::uuid, ${len(UNIT_INPUT) + 1}::uuid FROM input"
)
STORE_UNITS = f"WITH input AS (SELECT * FROM {bulk.unnest_sql(UNIT_INPUT)}), " + _upsert(
    "units", ("uscc",), UNIT_VALUES, _UNIT_SELECT
)


def _prepare_unit(row: Row, _: BatchContext) -> None:
    row["name_norm"] = normalize_unit_name(row["name"])
    row["kind"] = row["kind"] or unit_kind_from_uscc(row["uscc"]).value
    names = row["former_names"] or []
    row["former_names"] = _SEP.join(names) or None
    row["former_names_norm"] = _SEP.join(normalize_unit_name(n) for n in names) or None


async def _store_units(pg: asyncpg.Connection, rows: list[Row], batch: BatchContext) -> int:
    return await pg.fetchval(STORE_UNITS, *bulk.column_arrays(rows, UNIT_INPUT), batch.batch_id)


UNITS = Feed(
    kind=RecordKind.units,
    fields=(
        uscc_field("uscc", required=True),
        Field("name", text_value(200)),
        Field("former_names", list_value, required=False),
        Field("kind", choice_value(UNIT_KIND_CHOICES, _unit_kind_of_legal_form), required=False, repeats=True),
        uscc_field("head_office_uscc", required=False),
        REGION_CODE,
    ),
    key=lambda row: row["uscc"],
    change_stream=events.UNITS,
    prepare=_prepare_unit,
    store=_store_units,
)


# --- registrations -------------------------------------------------------------------------

REGISTRATION_INPUT = {
    **PERSON_INPUT,
    "category": "text",
    "specialty": "text",
    "certificate_no": "text",
    "seal_no": "text",
    "unit_name": "text",
    "unit_name_norm": "text",
    "unit_uscc": "text",
    "region_code": "text",
    "registered_on": "date",
    "valid_until": "date",
    "status": "text",
}
REGISTRATION_VALUES = (
    "person_key",
    "name",
    "specialty",
    "seal_no",
    "unit_name",
    "unit_name_norm",
    "unit_uscc",
    "region_code",
    "registered_on",
    "valid_until",
    "status",
)
# A certificate an earlier chunk of the same upload recorded (the row's batch id is this batch's) keeps that
# chunk's specialties too: each once, in the order they came.
_EARLIER_SPECIALTY = "CASE WHEN registrations.batch_id = excluded.batch_id THEN registrations.specialty END"
_MERGED_SPECIALTY = (
    f"CASE WHEN ({_EARLIER_SPECIALTY}) IS NULL OR excluded.specialty IS NULL "
    f"THEN coalesce(excluded.specialty, {_EARLIER_SPECIALTY}) ELSE "
    f"(SELECT string_agg(s, '{SPECIALTY_SEPARATOR}' ORDER BY n) FROM (SELECT s, min(n) AS n "
    f"FROM unnest(string_to_array(registrations.specialty || '{SPECIALTY_SEPARATOR}' || excluded.specialty, "
    f"'{SPECIALTY_SEPARATOR}')) WITH ORDINALITY AS t(s, n) GROUP BY s) u) END"
)


def _store_registrations_sql(source: str, batch: str) -> str:
    """Upserts the people and registrations of `source` (REGISTRATION_INPUT, one row a certificate), changes
    marked with `batch`."""
    select = f"SELECT category, certificate_no, {', '.join(REGISTRATION_VALUES)}, {batch}, {batch} FROM input"
    changed = bulk.upsert_changed(
        "registrations",
        ("category", "certificate_no"),
        REGISTRATION_VALUES,
        select,
        stamps=("batch_id", "change_id"),
        updates={"specialty": _MERGED_SPECIALTY},
    )
    return (
        f"WITH input AS ({source}), {upsert_persons_cte('input')}, changed AS ({changed}) "
        f"SELECT count(*), {bars.ANY_BAR} FROM changed"
    )


STORE_REGISTRATIONS = _store_registrations_sql(
    f"SELECT * FROM {bulk.unnest_sql(REGISTRATION_INPUT)}", f"${len(REGISTRATION_INPUT) + 1}::uuid"
)


def _prepare_registration(row: Row, batch: BatchContext) -> None:
    prepare_person(row, batch, batch.cache)
    row["unit_name_norm"] = normalize_unit_name(row["unit_name"])
    row["status"] = row["status"] or RegistrationStatus.active.value


def _prepare_registration_columns(columns: Columns, batch: BatchContext) -> Columns:
    """`_prepare_registration` of a chunk's valid rows as columns (ingest.columnar)."""
    columns = prepare_person_columns(columns, batch)
    columns["unit_name_norm"] = mapped(columns["unit_name"], normalize_unit_name)
    columns["status"] = mapped(columns["status"], lambda status: status or RegistrationStatus.active.value)
    return columns


async def _store_registrations(pg: asyncpg.Connection, rows: list[Row], batch: BatchContext) -> int:
    stored = await pg.fetchrow(STORE_REGISTRATIONS, *bulk.column_arrays(rows, REGISTRATION_INPUT), batch.batch_id)
    return await _held(pg, stored, batch)


async def _merge_registrations(pg: asyncpg.Connection, table: str, batch: BatchContext) -> int:
    stored = await pg.fetchrow(_store_registrations_sql(f"SELECT * FROM {table}", "$1::uuid"), batch.batch_id)
    return await _held(pg, stored, batch)


async def _held(pg: asyncpg.Connection, stored: asyncpg.Record, batch: BatchContext) -> int:
    """How many registrations the chunk changed, once the bars case handling set hold against them."""
    changed, barred = stored
    if changed:
        await bars.hold_upload(pg, batch.batch_id, barred=barred)
    return changed


REGISTRATIONS = Feed(
    kind=RecordKind.registrations,
    fields=(
        ID_NUMBER,
        PERSON_NAME,
        Field("category", choice_value(CATEGORY_CHOICES, _category_as_written), repeats=True),
        Field("specialty", _specialties, required=False),
        Field("certificate_no", code_text(64)),
        Field("seal_no", code_text(64), required=False),
        Field("unit_name", text_value(200), repeats=True),
        uscc_field("unit_uscc", required=False),
        REGION_CODE,
        Field("registered_on", plausible_date_value, required=False, repeats=True),
        Field("valid_until", plausible_end_date, required=False, repeats=True),
        Field("status", choice_value(STATUS_CHOICES), required=False, repeats=True),
    ),
    key=lambda row: (row["category"], row["certificate_no"]),
    change_stream=events.REGISTRATIONS,
    prepare=_prepare_registration,
    store=_store_registrations,
    merge=_merge_registration_rows,
    columnar=ColumnarStore(
        columns=REGISTRATION_INPUT,
        key=("category", "certificate_no"),
        merge=_merge_registrations,
        prepare=_prepare_registration_columns,
    ),
)

FEEDS = (UNITS, REGISTRATIONS)
