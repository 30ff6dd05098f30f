"""The audit trail: every change to every case and complaint. Append-only, enforced by the database
(a trigger refuses UPDATE, DELETE and TRUNCATE; the privileges are revoked — see the migration)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from case_svc.db import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", BigInteger, primary_key=True, autoincrement=True),
    Column("entity", Text, nullable=False),  # case | complaint | campaign
    Column("entity_id", Text, nullable=False),
    Column("case_id", UUID(as_uuid=True)),  # the case whose timeline shows the entry
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_role", Text),
    Column("reason", Text),
    Column("before", JSONB),
    Column("after", JSONB),
    # clock_timestamp: entries of one transaction keep their order in time too.
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
    Index(None, "case_id", "audit_id"),
    Index(None, "entity", "entity_id", "audit_id"),
)
