"""Campaigns' tables: a province's campaign with its configuration; the counters of registration numbers."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

from case_svc.db import metadata

# The configuration (phases, agencies, deadlines, reply days…) is one document: it is read whole
# and validated by the Campaign schema; the columns are what queries select on.
campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", Text, primary_key=True),
    Column("province_code", Text(collation="C"), nullable=False),
    Column("name", Text, nullable=False),
    Column("config", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "province_code"),
)

# Running numbers of the registration numbers handed out (TS-150000-2024-000123, AJ-…), per prefix.
reference_counters = Table(
    "reference_counters",
    metadata,
    Column("prefix", Text, primary_key=True),
    Column("last", BigInteger, nullable=False),
)
