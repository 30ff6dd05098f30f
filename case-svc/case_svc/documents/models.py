"""Document numbers (文号): issued once per case and document, sequential per issuing authority and year, never
changed or withdrawn (append-only, like the audit trail)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, Table, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID

from case_svc.db import metadata

document_numbers = Table(
    "document_numbers",
    metadata,
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.case_id"), nullable=False),
    Column("document", Text, nullable=False),  # notice | intended-decision | decision | proof-of-service:<of>
    Column("authority_code", Text, nullable=False),  # the issuing bureau's region
    Column("prefix", Text, nullable=False),  # 代字, e.g. 呼住建稽
    Column("year", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("number", Text, nullable=False, unique=True),  # 呼住建稽〔2026〕12号
    Column("issued_on", Date, nullable=False),
    Column("issued_by", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
    UniqueConstraint("case_id", "document"),
    UniqueConstraint("prefix", "year", "sequence"),
)
