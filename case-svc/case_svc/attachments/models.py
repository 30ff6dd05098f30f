"""Attachments' table: the evidence gathered on a case (核查记录, 约谈笔录, photos, a unit's 情况说明), append-only
as the audit trail is (a trigger refuses UPDATE, DELETE and TRUNCATE; the privileges are revoked)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from case_svc.db import metadata

case_attachments = Table(
    "case_attachments",
    metadata,
    Column("attachment_id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.case_id"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, … within the case: GET …/attachments/{n}
    Column("kind", Text, nullable=False),  # 核查记录 | 约谈笔录 | 照片 | 情况说明 | 其他
    Column("note", Text),
    Column("filename", Text, nullable=False),  # as uploaded (its last path component)
    Column("content_type", Text, nullable=False),  # sniffed from the content, never the client's word
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_by_role", Text),
    Column("uploaded_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
    UniqueConstraint("case_id", "number"),
)
