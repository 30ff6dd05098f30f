"""Reads of the registry: a person's registrations and identity, registrations by region or certificate, units by
USCC or name.

Each read takes the caller's region scope and answers only what the scope allows.
"""

from __future__ import annotations

import asyncpg

from domain.identifiers import normalize_unit_name
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.privacy import FieldCipher
from kernel.scope import RegionScope
from registry_svc.schemas import Identity, Registration, Unit

_REGISTRATION = (
    "SELECT r.person_key AS person_ref, p.masked_id, r.name, r.category, r.specialty, r.certificate_no, r.seal_no, "
    "r.unit_name, r.unit_uscc, r.region_code, r.registered_on, r.valid_until, r.status, r.barred_until, r.bar_flag, r.batch_id::text AS batch_id "
    "FROM registrations r JOIN persons p USING (person_key) "
)
_BY_REGION = _REGISTRATION + (
    "WHERE r.region_code LIKE ANY($1::text[]) AND ($2::text IS NULL OR r.status = $2) "
    "AND (r.region_code, r.category, r.certificate_no) > ($3, $4, $5) "
    "ORDER BY r.region_code, r.category, r.certificate_no LIMIT $6"
)
_UNIT = "SELECT uscc, name, former_names, kind, head_office_uscc, region_code, batch_id::text AS batch_id FROM units "


async def person_visible(pg: asyncpg.Connection, person_ref: str, scope: RegionScope) -> bool:
    """Whether any of the person's registrations is in the caller's regions."""
    return await pg.fetchval(
        "SELECT EXISTS (SELECT 1 FROM registrations WHERE person_key = $1 AND region_code LIKE ANY($2::text[]))",
        person_ref,
        scope.patterns(),
    )


async def person_registrations(
    pg: asyncpg.Connection, person_ref: str, scope: RegionScope, *, cursor: str | None, limit: int
) -> Page[Registration]:
    """All the person's registrations when any of them is in the caller's regions (else none), by category
    and certificate number, in keyset pages."""
    after = decode_cursor(cursor, ["", ""])
    if not await person_visible(pg, person_ref, scope):
        return Page[Registration](items=[], next_cursor=None)
    rows = await pg.fetch(
        _REGISTRATION + "WHERE r.person_key = $1 AND (r.category, r.certificate_no) > ($2, $3) "
        "ORDER BY r.category, r.certificate_no LIMIT $4",
        person_ref,
        *after,
        limit + 1,
    )
    items = [Registration.model_validate(dict(row)) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].category, items[-1].certificate_no]) if len(rows) > limit else None
    return Page[Registration](items=items, next_cursor=next_cursor)


async def registration(
    pg: asyncpg.Connection, category: str, certificate_no: str, scope: RegionScope
) -> Registration | None:
    """The registration with this certificate number in this category, when it is in the caller's regions."""
    row = await pg.fetchrow(_REGISTRATION + "WHERE r.category = $1 AND r.certificate_no = $2", category, certificate_no)
    found = Registration.model_validate(dict(row)) if row else None
    return found if found is not None and scope.allows(found.region_code) else None


async def registrations_by_region(
    pg: asyncpg.Connection,
    scope: RegionScope,
    region_code: str,
    *,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> Page[Registration]:
    """Registrations in `region_code` and under it, narrowed to the caller's regions, in keyset pages."""
    after = decode_cursor(cursor, ["", "", ""])
    rows = await pg.fetch(_BY_REGION, scope.within(region_code), status, *after, limit + 1)
    items = [Registration.model_validate(dict(row)) for row in rows]
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = encode_cursor([last.region_code, last.category, last.certificate_no])
    return Page[Registration](items=items, next_cursor=next_cursor)


async def person_identity(
    pg: asyncpg.Connection, person_ref: str, scope: RegionScope, cipher: FieldCipher
) -> Identity | None:
    """The person's ID number, decrypted: only for a registered person in the caller's regions."""
    if not await person_visible(pg, person_ref, scope):
        return None
    sealed = await pg.fetchrow(
        "SELECT id_cipher, id_key_id, masked_id, name FROM persons WHERE person_key = $1", person_ref
    )
    if sealed is None:
        return None
    return Identity(
        person_ref=person_ref,
        id_number=cipher.decrypt(sealed["id_key_id"], sealed["id_cipher"]),
        masked_id=sealed["masked_id"],
        name=sealed["name"],
    )


async def unit_by_uscc(pg: asyncpg.Connection, uscc: str) -> Unit | None:
    row = await pg.fetchrow(_UNIT + "WHERE uscc = $1", uscc)
    return Unit.model_validate(dict(row)) if row else None


async def units_by_name(
    pg: asyncpg.Connection, name: str, scope: RegionScope, *, cursor: str | None, limit: int
) -> Page[Unit]:
    """Units in the caller's regions whose name or a former name is this name, after normalising width,
    brackets and spaces; by USCC, in keyset pages."""
    [after] = decode_cursor(cursor, [""])
    rows = await pg.fetch(
        _UNIT + "WHERE (name_norm = $1 OR former_names_norm @> ARRAY[$1::text]) AND region_code LIKE ANY($2::text[]) "
        "AND uscc > $3 ORDER BY uscc LIMIT $4",
        normalize_unit_name(name),
        scope.patterns(),
        after,
        limit + 1,
    )
    items = [Unit.model_validate(dict(row)) for row in rows[:limit]]
    return Page[Unit](items=items, next_cursor=encode_cursor([items[-1].uscc]) if len(rows) > limit else None)
