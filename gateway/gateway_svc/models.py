"""The gateway's tables: the log of personal-data access, and which client uploaded which batch."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

from kernel.db import NAMING_CONVENTION

# Not kernel.db.service_metadata: the gateway has no outbox, consumers or ingest of its own.
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# One row per read of a person's data, lookup by ID number and reveal (DOMAIN §8), written before
# the data is returned. Holds the pseudonym, never the ID number.
person_access = Table(
    "person_access",
    metadata,
    Column("access_id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("client_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("person_ref", Text, nullable=False),
    Column("action", Text, nullable=False),  # read | lookup | reveal | export
    Column("route", Text, nullable=False),  # method and path template
    Column("status", Integer, nullable=False),  # what the caller got
    Column("request_id", Text),
    Index(None, "person_ref", "access_id"),
    Index(None, "client_id", "access_id"),
    Index(None, "at"),
)

# Receipts hold no region (a provincial file spans every city), so a batch is its uploader's: only
# that client reads its receipt or retracts it through the gateway.
feed_batches = Table(
    "feed_batches",
    metadata,
    Column("batch_id", UUID(as_uuid=True), primary_key=True),
    Column("service", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
