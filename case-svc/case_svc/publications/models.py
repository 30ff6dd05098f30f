"""Publication lists (公示): a province's list of confirmed cases for a period, drafted, then approved by
another officer; its rows are fixed when it is drafted."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from case_svc.db import metadata

publications = Table(
    "publications",
    metadata,
    Column("publication_id", UUID(as_uuid=True), primary_key=True),
    Column("region_code", Text(collation="C"), nullable=False),  # the province
    Column("period_from", Date, nullable=False),
    Column("period_to", Date, nullable=False),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),  # draft | approved
    Column("rows", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("approved_by", Text),
    Column("approved_at", DateTime(timezone=True)),
    Index(None, "region_code", "publication_id"),
)
