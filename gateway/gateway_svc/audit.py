"""The audit log of personal-data access (who read or revealed whom, when, through which route), and
which client uploaded which batch."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gateway_svc.models import feed_batches, person_access
from gateway_svc.tokens import Caller
from kernel.db import Database
from kernel.logs import request_id
from kernel.paging import Page, decode_cursor, encode_cursor

Action = Literal["read", "lookup", "reveal"]


class PersonAccess(BaseModel):
    access_id: int
    at: datetime
    client_id: str
    role: str
    person_ref: str
    action: Action
    route: str = Field(examples=["GET /api/v1/matcher/persons/{person_ref}"])
    status: int
    request_id: str | None


async def record_access(db: Database, caller: Caller, person_ref: str, action: Action, route: str, status: int) -> None:
    """Written before the data leaves the gateway: when this fails the caller gets an error, not the data."""
    async with db.transaction() as conn:
        await conn.execute(
            insert(person_access).values(
                client_id=caller.client_id,
                role=caller.role,
                person_ref=person_ref,
                action=action,
                route=route,
                status=status,
                request_id=request_id.get(),
            )
        )


async def person_accesses(
    db: Database,
    *,
    person_ref: str | None,
    client_id: str | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[PersonAccess]:
    """Newest first, cursor-paged."""
    query = select(*person_access.c).order_by(person_access.c.access_id.desc()).limit(limit + 1)
    if person_ref:
        query = query.where(person_access.c.person_ref == person_ref)
    if client_id:
        query = query.where(person_access.c.client_id == client_id)
    if since:
        query = query.where(person_access.c.at >= since)
    if cursor:
        [last_seen] = decode_cursor(cursor, [0])
        query = query.where(person_access.c.access_id < last_seen)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    items = [PersonAccess.model_validate(dict(row)) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].access_id]) if len(rows) > limit else None
    return Page[PersonAccess](items=items, next_cursor=next_cursor)


async def record_batch(db: Database, service: str, batch_id: uuid.UUID, client_id: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            pg_insert(feed_batches)
            .values(batch_id=batch_id, service=service, client_id=client_id)
            .on_conflict_do_nothing()
        )


async def batch_owner(db: Database, service: str, batch_id: str) -> str | None:
    try:
        key = uuid.UUID(batch_id)
    except ValueError:
        return None
    async with db.engine.connect() as conn:
        return await conn.scalar(
            select(feed_batches.c.client_id).where(feed_batches.c.batch_id == key, feed_batches.c.service == service)
        )
