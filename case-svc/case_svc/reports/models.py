"""Frozen report tables: the summary table of a finished month, stored the first time it is produced after
the month ended, and answered as stored from then on. Append-only, like the audit trail."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from case_svc.db import metadata

frozen_reports = Table(
    "frozen_reports",
    metadata,
    # What the table is of: kind, region scope, period and title (reports/freeze.py).
    Column("report_key", Text, primary_key=True),
    Column("report", JSONB, nullable=False),
    Column("frozen_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
)
