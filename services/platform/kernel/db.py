"""Database access: the async engine and sessions of one service, and the tables the kernel adds to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine

from kernel.settings import ServiceSettings

# Settings of every session a service opens, whatever the server's configuration:
# - JIT off: the services' statements are short and many, and PostgreSQL's cost estimates on tables a bulk
#   load is still filling (statistics not yet analysed) put some of them over jit_above_cost: compiling took
#   half a second a time for a relay's change set of a few hundred people that runs in 80 ms without it.
# - random_page_cost 1.1, not the default 4 (a spinning disk's): the working set is in memory or on SSD. At
#   4 the relay joined a change set's few hundred people to `persons` by reading the whole table, a cost
#   growing with the province, so each change set cost more the larger the province (O(n²) in all).
SESSION_SETTINGS = {"jit": "off", "random_page_cost": "1.1"}

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """A service's MetaData with the kernel's tables (outbox, processed and parked events, ingest batches with
    their errors and regions) in it."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Either one event (topic, key, payload...) or a change set: every record of `change_stream`
    # whose change_id is `change_id`, rendered into events by the relay (see kernel.outbox).
    Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("topic", Text),
        Column("key", Text),
        Column("event_id", UUID(as_uuid=True), nullable=False, server_default=text("gen_random_uuid()")),
        Column("event_type", Text),
        Column("subject", Text),
        Column("payload", JSONB),
        Column("change_stream", Text),
        Column("change_id", UUID(as_uuid=True)),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        CheckConstraint(
            "(payload IS NOT NULL AND topic IS NOT NULL AND key IS NOT NULL AND event_type IS NOT NULL) "
            "OR (change_stream IS NOT NULL AND change_id IS NOT NULL)",
            name="event_or_change_set",
        ),
    )
    Table(
        "processed_events",
        metadata,
        Column("event_id", Text, primary_key=True),
        Column("consumer", Text, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    # Events a consumer set aside after they failed on their own (kernel.consumer): kept for an
    # operator to inspect and retry (`/internal/parked`).
    Table(
        "parked_events",
        metadata,
        Column("event_id", Text, primary_key=True),
        Column("consumer", Text, primary_key=True),
        Column("topic", Text, nullable=False),
        Column("partition", Integer, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event", JSONB, nullable=False),
        Column("error", Text, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Table(
        "ingest_batches",
        metadata,
        Column("batch_id", UUID(as_uuid=True), primary_key=True),
        Column("feed", Text, nullable=False),
        Column("idempotency_key", Text),
        Column("mode", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("received", Integer, nullable=False),
        Column("accepted", Integer, nullable=False),
        Column("rejected", Integer, nullable=False),
        Column("changed", Integer, nullable=False),
        Column("errors", JSONB, nullable=False),
        Column("errors_omitted", Integer, nullable=False),
        Column("warnings", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
        Column("warnings_omitted", Integer, nullable=False, server_default=text("0")),
        Column("ignored_columns", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
        Column("reason", JSONB),  # why a whole upload was refused: {code, params}
        Column("profile", JSONB),  # the feed client's profile the upload was read by: {client_id, version}
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("retracted_at", DateTime(timezone=True)),
        Column("client_id", Text),  # the feed client that uploaded it (NULL: stored before it was kept)
        UniqueConstraint("feed", "idempotency_key"),
    )
    # How many accepted rows of a batch each region had (a feed without regions: the client's regions): the
    # feeds' freshness per client and region (ingest.receipts.freshness).
    Table(
        "ingest_batch_regions",
        metadata,
        Column("batch_id", UUID(as_uuid=True), primary_key=True),
        Column("region_code", Text, primary_key=True, index=True),
        Column("rows", Integer, nullable=False),
    )
    # Every row error of a batch (its receipt lists the first MAX_ERRORS_IN_RECEIPT), for the download:
    # code and parameters (never the value), where it is in the file as the bureau wrote it.
    Table(
        "ingest_errors",
        metadata,
        Column("batch_id", UUID(as_uuid=True), primary_key=True),
        Column("seq", Integer, primary_key=True),
        Column("row", Integer, nullable=False),
        Column("line", Integer),
        Column("field", Text),
        Column("column_name", Text),
        Column("column_number", Integer),
        Column("code", Text, nullable=False),
        Column("params", JSONB),
        Column("message", Text, nullable=False),
    )
    return metadata


class Database:
    """One service's engine and session factory; owned by the app's lifespan."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.engine: AsyncEngine = create_async_engine(
            settings.async_database_url,
            pool_size=settings.database_pool_size,
            pool_pre_ping=True,
            connect_args={"server_settings": SESSION_SETTINGS},
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, *, isolation_level: str | None = None) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that commits on success and rolls back on error (at the server's
        isolation level, READ COMMITTED, unless another is named: "REPEATABLE READ" reads one snapshot)."""
        async with self.engine.connect() as conn:
            if isolation_level is not None:
                await conn.execution_options(isolation_level=isolation_level)
            async with conn.begin():
                yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("select 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def connect(dsn: str) -> asyncpg.Connection:
    """A connection of its own outside the pool (a relay's, a listener's), with the pool's session settings."""
    return await asyncpg.connect(dsn, server_settings=SESSION_SETTINGS)


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy one, for COPY and array-bound bulk statements.

    When `conn` is in a transaction, statements on the returned connection take part in it.
    """
    if conn.in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement; without one,
        # statements sent straight to the driver would run (and commit) outside the transaction.
        await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    return raw.driver_connection
