"""Records about people published as one event per person: contributions, deposits, person statuses.

A service declares a `PersonRecords` (its table's identity and values, the event, how the person's
items render) and gets from here: the table, the set-based chunk store, the change stream the
relay publishes (one event per person touched by a batch, stating all the person's current
records), batch retraction, replay, and the per-person read. The insurance and fund services
are these declarations and little else.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Index, MetaData, PrimaryKeyConstraint, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

from domain.records import RecordKind
from ingest import bulk
from ingest.feeds import BatchContext, ColumnarStore, Feed, Row
from ingest.fields import ID_NUMBER, PERSON_NAME, Field
from ingest.persons import PERSON_COLUMNS, prepare_person, prepare_person_columns, upsert_persons_cte
from kernel import outbox
from kernel.events import EventPayload
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.scope import RegionScope

# Person columns every input carries (see ingest.persons.prepare_person), with their SQL types.
PERSON_INPUT = {
    "person_key": "text",
    "id_cipher": "bytea",
    "id_key_id": "text",
    "masked_id": "text",
    "birth_date": "date",
    "id_checksum_failed": "boolean",
    "name": "text",
}
assert tuple(PERSON_INPUT)[: len(PERSON_COLUMNS)] == PERSON_COLUMNS


def person_changes_table(metadata: MetaData) -> Table:
    """Which people a change set (an upload, a retraction, a replay) touched: what the relay renders."""
    return Table(
        "person_changes",
        metadata,
        Column("change_id", UUID(as_uuid=True), nullable=False),
        Column("person_key", Text, nullable=False),
        PrimaryKeyConstraint("change_id", "person_key"),
    )


@dataclass(frozen=True)
class PersonRecords:
    """One kind of per-person record.

    `columns` maps the input columns after the person's (identity first, then values) to SQL types;
    `key` names the identity columns besides person_key. `items_sql` is a SQL expression giving the
    JSON text of the array (kernel.outbox.json_array_sql) of a person's current items for `pc.person_key`; it
    becomes the payload field `items_field` of `model`, whose items are `item_model`s, each one named by its `item_key` fields
    (the keyset of the per-person read's pages).
    """

    name: str
    columns: Mapping[str, str]
    key: tuple[str, ...]
    model: type[EventPayload]
    items_field: str
    items_sql: str
    item_model: type[BaseModel]
    item_key: tuple[str, ...]
    # The records table whose rows' regions decide whether a region-scoped caller sees the person:
    # this one when it has region_code; records without a region name another (statuses: contributions).
    region_table: str | None = None

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.key)

    def table(self, metadata: MetaData, *columns: Column) -> Table:
        """The records table: person_key, `columns`, the batch that recorded each row, its retraction."""
        return Table(
            self.name,
            metadata,
            Column("person_key", Text, nullable=False),
            *columns,
            Column("batch_id", UUID(as_uuid=True), nullable=False),
            Column("retracted_at", DateTime(timezone=True)),
            Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            PrimaryKeyConstraint("person_key", *self.key),
            Index(None, "batch_id"),
        )

    def feed(self, kind: RecordKind, fields: Sequence[Field]) -> Feed:
        """The bulk feed of these records: the person's ID and name, then `fields`."""
        return Feed(
            kind=kind,
            fields=(ID_NUMBER, PERSON_NAME, *fields),
            store=self.store,
            key=lambda row: (row["person_key"], *(row[column] for column in self.key)),
            change_stream=self.change_stream,
            prepare=lambda row, batch: prepare_person(row, batch, batch.cache),
            retract=self.retract,
            columnar=ColumnarStore(
                columns=self.input_columns,
                key=("person_key", *self.key),
                merge=self.merge_staged,
                prepare=prepare_person_columns,
            ),
        )

    # --- writing --------------------------------------------------------------------------

    @property
    def input_columns(self) -> dict[str, str]:
        return {**PERSON_INPUT, **self.columns}

    @property
    def store_sql(self) -> str:
        """The chunk store's statement: the rows bound as arrays, then the batch id."""
        return self._store_sql(
            f"SELECT * FROM {bulk.unnest_sql(self.input_columns)}", f"${len(self.input_columns) + 1}::uuid"
        )

    def _store_sql(self, source: str, batch: str) -> str:
        """Upserts the people and records of `source` (input_columns), one row a record, marked with `batch`."""
        select = f"SELECT person_key, {', '.join(self.columns)}, NULL::timestamptz, {batch} FROM input"
        changed = bulk.upsert_changed(
            self.name,
            ("person_key", *self.key),
            (*self.values, "retracted_at"),  # a retracted row sent again comes back
            select,
            returning="person_key",
        )
        return (
            f"WITH input AS ({source}), "
            f"{upsert_persons_cte('input')}, "
            f"changed AS ({changed}), "
            # A renamed person is published too: every event carries the name.
            f"noted AS (INSERT INTO person_changes (change_id, person_key) SELECT {batch}, person_key "
            "FROM (SELECT person_key FROM changed UNION SELECT person_key FROM persons_upserted) touched "
            "ON CONFLICT DO NOTHING) "
            "SELECT count(*) FROM changed"
        )

    async def store(self, pg: asyncpg.Connection, rows: list[Row], batch: BatchContext) -> int:
        return await pg.fetchval(self.store_sql, *bulk.column_arrays(rows, self.input_columns), batch.batch_id)

    async def merge_staged(self, pg: asyncpg.Connection, table: str, batch: BatchContext) -> int:
        """`store` of a chunk staged in `table` (ingest.columnar)."""
        return await pg.fetchval(self._store_sql(f"SELECT * FROM {table}", "$1::uuid"), batch.batch_id)

    async def retract(self, pg: asyncpg.Connection, batch: BatchContext) -> int:
        """Marks the rows the batch recorded as retracted and queues their people for publishing."""
        change_id = uuid.uuid4()  # new event ids: the people's records are not what they were
        count = await pg.fetchval(
            f"WITH retracted AS (UPDATE {self.name} SET retracted_at = now(), updated_at = now() "
            "WHERE batch_id = $1 AND retracted_at IS NULL RETURNING person_key), "
            "noted AS (INSERT INTO person_changes (change_id, person_key) "
            "SELECT DISTINCT $2::uuid, person_key FROM retracted ON CONFLICT DO NOTHING) "
            "SELECT count(*) FROM retracted",
            batch.batch_id,
            change_id,
        )
        if count:
            await outbox.queue_change_set(pg, self.change_stream, change_id)
        return count

    async def replay(self, pg: asyncpg.Connection, since: datetime | None) -> int:
        """Queues every person with records changed since `since` (or all) for publishing again."""
        change_id = uuid.uuid4()
        count = await pg.fetchval(
            f"WITH noted AS (INSERT INTO person_changes (change_id, person_key) "
            f"SELECT DISTINCT $1::uuid, person_key FROM {self.name} WHERE updated_at >= $2 "
            "ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM noted",
            change_id,
            since or datetime.min,
        )
        if count:
            await outbox.queue_change_set(pg, self.change_stream, change_id)
        return count

    # --- publishing and reading -------------------------------------------------------------

    @property
    def payload(self) -> str:
        return outbox.payload_sql(
            self.model,
            {
                "person_ref": "pc.person_key",
                "masked_id": "p.masked_id",
                "name": "p.name",
                self.items_field: outbox.JsonText(f"({self.items_sql})"),
                "id_checksum_failed": "p.id_checksum_failed",
            },
        )

    @property
    def change_stream(self) -> outbox.ChangeStream:
        return outbox.ChangeStream(
            name=self.name,
            model=self.model,
            key="pc.person_key",
            subject="pc.person_key",
            payload=self.payload,
            source="FROM person_changes pc JOIN persons p USING (person_key) WHERE pc.change_id = $1",
        )

    async def evidence(self, pg: asyncpg.Connection, person_ref: str, scope: RegionScope) -> dict[str, Any] | None:
        """The person's current records, shaped as the event payload (what an officer reads as evidence);
        None for an unknown person or one of whom the caller's regions hold no current record."""
        if not await self._visible(pg, person_ref, scope):
            return None
        payload = await pg.fetchval(
            f"SELECT {self.payload} FROM (SELECT $1::text AS person_key) pc JOIN persons p USING (person_key)",
            person_ref,
        )
        return orjson.loads(payload) if payload else None

    async def page(
        self, pg: asyncpg.Connection, person_ref: str, scope: RegionScope, *, cursor: str | None, limit: int
    ) -> Page[Any] | None:
        """The person's current items (what `evidence` holds), in `item_key` order, in keyset pages; None as
        for `evidence`. A person's items are few (months of a few years): they are read whole and paged here."""
        after = tuple(decode_cursor(cursor, [""] * len(self.item_key)))
        found = await self.evidence(pg, person_ref, scope)
        if found is None:
            return None

        def key(item: dict[str, Any]) -> tuple[str, ...]:
            return tuple(str(item[name]) for name in self.item_key)

        rest = sorted((item for item in found[self.items_field] if key(item) > after), key=key)
        items = rest[:limit]
        next_cursor = encode_cursor(list(key(items[-1]))) if len(rest) > limit else None
        return Page[Any](items=[self.item_model.model_validate(item) for item in items], next_cursor=next_cursor)

    async def _visible(self, pg: asyncpg.Connection, person_ref: str, scope: RegionScope) -> bool:
        """Whether the caller's regions hold any current record of the person (see kernel.scope)."""
        if scope.prefixes is None:
            return True
        table = self.region_table or (self.name if "region_code" in self.columns else None)
        if table is None:
            return False
        return await pg.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE person_key = $1 AND retracted_at IS NULL "
            "AND region_code LIKE ANY($2::text[]))",
            person_ref,
            scope.patterns(),
        )
