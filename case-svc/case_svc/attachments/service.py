"""Attachments: evidence stored on a case with its SHA-256, size, the content type read from the content, the
uploader's file name, who and when — never altered or deleted (the table is append-only, as the audit trail
is). Each one is on the case's timeline; an answer may rest on them (cases/service.py)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.attachments import sniff
from case_svc.attachments.schemas import Attachment
from case_svc.audit import service as audit_service
from case_svc.cases import service as case_service
from case_svc.cases.record import Case
from case_svc.cases.workflow import CaseStatus
from case_svc.settings import CaseSettings
from kernel.errors import Conflict, Invalid, NotFound, UnsupportedMediaType
from kernel.paging import Page, decode_cursor, encode_cursor

_RECORD = (
    "SELECT attachment_id, case_id, number, kind, note, filename, content_type, size, sha256, uploaded_by, "
    "uploaded_by_role, uploaded_at FROM case_attachments "
)


async def attach(
    pg: asyncpg.Connection,
    case: Case,
    *,
    kind: str,
    note: str | None,
    filename: str,
    content: bytes,
    actor: Actor,
    settings: CaseSettings,
) -> Attachment:
    """Stores the file on the (locked) case under the next number; 415 for a kind of file not kept, 409 on a
    closed case or while another officer holds the case's working lock."""
    if case.status is CaseStatus.closed:
        raise Conflict(f"case {case.case_ref} is closed: it takes no more evidence", error_type="case_closed")
    case_service.check_lock(case, actor)
    if not content:
        raise Invalid("the file is empty", loc=["body", "file"])
    content_type = sniff.media_type(content)
    if content_type is None:
        raise UnsupportedMediaType(
            f"a case keeps {sniff.ALLOWED} files; this one's content is none of them", loc=["body", "file"]
        )
    number = await pg.fetchval(
        "SELECT coalesce(max(number), 0) + 1 FROM case_attachments WHERE case_id = $1", case.case_id
    )
    digest = hashlib.sha256(content).hexdigest()
    row = await pg.fetchrow(
        "INSERT INTO case_attachments (attachment_id, case_id, number, kind, note, filename, content_type, size, sha256, "
        "content, uploaded_by, uploaded_by_role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
        "RETURNING attachment_id, case_id, number, kind, note, filename, content_type, size, sha256, uploaded_by, "
        "uploaded_by_role, uploaded_at",
        uuid.uuid4(),
        case.case_id,
        number,
        kind,
        note,
        filename,
        content_type,
        len(content),
        digest,
        content,
        actor.id,
        actor.role,
    )
    await audit_service.record(
        pg,
        entity="case",
        entity_id=case.case_id,
        case_id=case.case_id,
        action="attach",
        actor=actor,
        reason=note,
        after={
            "number": number,
            "kind": kind,
            "filename": filename,
            "content_type": content_type,
            "size": len(content),
            "sha256": digest,
        },
    )
    await case_service.renew_lock(pg, case, actor, settings)
    return Attachment.model_validate(dict(row))


async def list_attachments(pg: asyncpg.Connection, case: Case, *, cursor: str | None, limit: int) -> Page[Attachment]:
    (after,) = decode_cursor(cursor, [0])
    rows = await pg.fetch(
        _RECORD + "WHERE case_id = $1 AND number > $2 ORDER BY number LIMIT $3", case.case_id, after, limit + 1
    )
    items = [Attachment.model_validate(dict(row)) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].number]) if len(rows) > limit else None
    return Page[Attachment](items=items, next_cursor=next_cursor)


async def content_of(pg: asyncpg.Connection, case: Case, number: int) -> tuple[Attachment, bytes]:
    row: Any = await pg.fetchrow(
        "SELECT attachment_id, case_id, number, kind, note, filename, content_type, size, sha256, uploaded_by, "
        "uploaded_by_role, uploaded_at, content FROM case_attachments WHERE case_id = $1 AND number = $2",
        case.case_id,
        number,
    )
    if row is None:
        raise NotFound(f"case {case.case_ref} has no attachment {number}", loc=["path", "number"])
    values = dict(row)
    content = values.pop("content")
    return Attachment.model_validate(values), bytes(content)
