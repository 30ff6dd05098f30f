"""The audit log of personal-data access (who read or revealed whom, when, through which route), and
which client uploaded which batch: the gateway's queries.

Entries are written, and a batch's owner read, in a short transaction of their own rather than in a
route's `DbTransaction`: an entry must stay when the request it records is refused afterwards (a
refused read is how an administrator sees someone probing), and a forwarded upload may stream for
minutes, during which the forwarding route holds no database connection.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from gateway_svc.schemas import Action, PersonAccess
from gateway_svc.tokens import Caller
from kernel.db import Database, driver_connection
from kernel.logs import request_id
from kernel.paging import Page, decode_cursor, encode_cursor


@asynccontextmanager
async def _own_transaction(db: Database) -> AsyncIterator[asyncpg.Connection]:
    async with db.transaction() as conn:
        yield await driver_connection(conn)


async def record_access(db: Database, caller: Caller, person_ref: str, action: Action, route: str, status: int) -> None:
    """Written before the data leaves the gateway: when this fails the caller gets an error, not the data."""
    await record_accesses(db, caller, [person_ref], action, route, status)


async def record_accesses(
    db: Database, caller: Caller, person_refs: Sequence[str], action: Action, route: str, status: int
) -> None:
    """One entry per person (a page of a list shows several), written in one statement, before the data
    leaves the gateway. Nothing is written for no one."""
    refs = list(dict.fromkeys(person_refs))  # each person once, in the answer's order
    if not refs:
        return
    async with _own_transaction(db) as pg:
        await pg.execute(
            "INSERT INTO person_access (client_id, actor_kind, role, person_ref, action, route, status, request_id)"
            " SELECT $1, $8, $2, ref, $4, $5, $6, $7 FROM unnest($3::text[]) WITH ORDINALITY AS r(ref, n) ORDER BY n",
            caller.client_id,
            caller.role,
            refs,
            action,
            route,
            status,
            request_id.get(),
            caller.kind.value,
        )


async def person_accesses(
    pg: asyncpg.Connection,
    *,
    person_ref: str | None,
    client_id: str | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[PersonAccess]:
    """Newest first, cursor-paged."""
    filters: list[tuple[str, object]] = []
    if person_ref:
        filters.append(("person_ref = ", person_ref))
    if client_id:
        filters.append(("client_id = ", client_id))
    if since:
        filters.append(("at >= ", since))
    if cursor:
        [last_seen] = decode_cursor(cursor, [0])
        filters.append(("access_id < ", last_seen))
    # Only the present filters go into the statement, so each is planned with its index.
    where = " AND ".join(f"{condition}${n}" for n, (condition, _) in enumerate(filters, start=1))
    rows = await pg.fetch(
        "SELECT access_id, at, client_id, actor_kind, role, person_ref, action, route, status, request_id FROM person_access"
        f"{' WHERE ' + where if where else ''} ORDER BY access_id DESC LIMIT ${len(filters) + 1}",
        *(value for _, value in filters),
        limit + 1,
    )
    items = [PersonAccess.model_validate(dict(row)) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].access_id]) if len(rows) > limit else None
    return Page[PersonAccess](items=items, next_cursor=next_cursor)


async def record_batch(db: Database, service: str, batch_id: uuid.UUID, caller: Caller) -> None:
    """The batch is the client's (the feed client a bureau's person acts for); a person is noted as its uploader."""
    async with _own_transaction(db) as pg:
        await pg.execute(
            "INSERT INTO feed_batches (batch_id, service, client_id, uploaded_by) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT DO NOTHING",
            batch_id,
            service,
            caller.principal,
            caller.client_id if caller.is_person else None,
        )


async def batch_owner(db: Database, service: str, batch_id: str) -> str | None:
    try:
        key = uuid.UUID(batch_id)
    except ValueError:
        return None
    async with _own_transaction(db) as pg:
        return await pg.fetchval(
            "SELECT client_id FROM feed_batches WHERE batch_id = $1 AND service = $2", key, service
        )
