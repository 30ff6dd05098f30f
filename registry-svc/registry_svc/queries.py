"""Reads of the registry: a person's registrations, registrations by region, units by USCC or name."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.identifiers import normalize_unit_name
from kernel.paging import Page, decode_cursor, encode_cursor


class Registration(BaseModel):
    person_ref: str
    masked_id: str
    name: str
    category: str
    specialty: str | None
    certificate_no: str
    seal_no: str | None
    unit_name: str
    unit_uscc: str | None
    region_code: str
    registered_on: date | None
    valid_until: date | None
    status: str
    barred_until: date | None  # revoked by case handling: the bar's last day; or recorded during a bar
    bar_flag: str | None  # revoked | registered_during_bar
    batch_id: str | None


class Unit(BaseModel):
    uscc: str
    name: str
    former_names: list[str]
    kind: str
    head_office_uscc: str | None
    region_code: str
    batch_id: str | None


_REGISTRATION = (
    "SELECT r.person_key AS person_ref, p.masked_id, r.name, r.category, r.specialty, r.certificate_no, r.seal_no, "
    "r.unit_name, r.unit_uscc, r.region_code, r.registered_on, r.valid_until, r.status, r.barred_until, r.bar_flag, r.batch_id::text AS batch_id "
    "FROM registrations r JOIN persons p USING (person_key) "
)
_UNIT = "SELECT uscc, name, former_names, kind, head_office_uscc, region_code, batch_id::text AS batch_id FROM units "


async def person_registrations(conn: AsyncConnection, person_ref: str) -> list[Registration]:
    rows = await conn.execute(
        text(_REGISTRATION + "WHERE r.person_key = :ref ORDER BY r.category, r.certificate_no"), {"ref": person_ref}
    )
    return [Registration.model_validate(dict(row)) for row in rows.mappings()]


async def registrations_by_region(
    conn: AsyncConnection, regions: list[str], *, status: str | None, cursor: str | None, limit: int
) -> Page[Registration]:
    """Registrations whose region matches one of the LIKE patterns `regions` (see kernel.scope)."""
    after = decode_cursor(cursor, ["", "", ""])
    params: dict[str, Any] = {"regions": regions, "limit": limit + 1, "status": status}
    params |= dict(zip(("a_region", "a_category", "a_cert"), after, strict=True))
    rows = await conn.execute(
        text(
            _REGISTRATION
            + "WHERE r.region_code LIKE ANY(CAST(:regions AS text[])) AND (CAST(:status AS text) IS NULL OR r.status = :status) "
            "AND (r.region_code, r.category, r.certificate_no) > (:a_region, :a_category, :a_cert) "
            "ORDER BY r.region_code, r.category, r.certificate_no LIMIT :limit"
        ),
        params,
    )
    items = [Registration.model_validate(dict(row)) for row in rows.mappings()]
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = encode_cursor([last.region_code, last.category, last.certificate_no])
    return Page[Registration](items=items, next_cursor=next_cursor)


async def sealed_identity(conn: AsyncConnection, person_ref: str) -> dict[str, Any] | None:
    """The person's encrypted ID number with its key id (for the internal identity route only)."""
    row = (
        (
            await conn.execute(
                text("SELECT id_cipher, id_key_id, masked_id, name FROM persons WHERE person_key = :ref"),
                {"ref": person_ref},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def unit_by_uscc(conn: AsyncConnection, uscc: str) -> Unit | None:
    row = (await conn.execute(text(_UNIT + "WHERE uscc = :uscc"), {"uscc": uscc})).mappings().first()
    return Unit.model_validate(dict(row)) if row else None


async def units_by_name(conn: AsyncConnection, name: str) -> list[Unit]:
    """Units whose name or a former name is this name, after normalising width, brackets and spaces."""
    rows = await conn.execute(
        text(_UNIT + "WHERE name_norm = :norm OR former_names_norm @> ARRAY[CAST(:norm AS text)] ORDER BY uscc"),
        {"norm": normalize_unit_name(name)},
    )
    return [Unit.model_validate(dict(row)) for row in rows.mappings()]
