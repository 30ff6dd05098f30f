"""A feed client's profile: how that bureau's files are read and judged (column spellings, the rejection
threshold, the ID check-character policy, the sheet of a workbook). Administrators set it per client and
feed; an upload reads it once, at its start."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

import asyncpg
import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Column, DateTime, Float, Integer, MetaData, PrimaryKeyConstraint, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from ingest.headers import header_key
from kernel.errors import Invalid


class IdChecksumPolicy(StrEnum):
    reject = "reject"  # an ID number whose check character fails is a row error
    accept_and_flag = "accept_and_flag"  # accepted, said in the receipt and in the finding's evidence


@dataclass(frozen=True)
class FeedProfile:
    # The bureau's own header spellings (as written, matched trimmed and case-insensitively) → field names.
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # More than this share of the received rows rejected refuses the whole upload (nothing applied).
    reject_above_percent: float = 5.0
    id_checksum: IdChecksumPolicy = IdChecksumPolicy.reject
    sheet: str | None = None  # a workbook's sheet to read; None: the first
    version: int = 0  # 0: no profile was set, these are the defaults
    client_id: str | None = None  # whose profile this is (None: no client's)


DEFAULT_PROFILE = FeedProfile()


# --- storage: every version kept, each saying who set it, when and what it changed ---------------------


def feed_profiles_table(metadata: MetaData) -> Table:
    """The profiles of a data service's feed clients, one row per version (append-only: a trigger refuses
    UPDATE, DELETE and TRUNCATE; see the migrations): the history is the audit trail."""
    return Table(
        "feed_profiles",
        metadata,
        Column("feed", Text, nullable=False),
        Column("client_id", Text, nullable=False),
        Column("version", Integer, nullable=False),
        Column("columns", JSONB, nullable=False),
        Column("reject_above_percent", Float, nullable=False),
        Column("id_checksum", Text, nullable=False),
        Column("sheet", Text),
        Column("set_by", Text, nullable=False),  # the verified caller's actor
        Column("set_by_role", Text, nullable=False),
        Column("set_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
        Column("changes", JSONB, nullable=False),  # {setting: {"before": …, "after": …}} against the last version
        PrimaryKeyConstraint("feed", "client_id", "version"),
    )


# Text PostgreSQL can hold (no NUL), as a header or a sheet's name may be.
_TEXT = r"^[^\x00]*$"
Header = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_TEXT)]


class ProfileSettings(BaseModel):
    """What a province administrator sets for one feed client: every setting, each PUT a new version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "columns": {"单位全称": "unit_name", "个人证件号": "id_number", "所属年月": "period"},
                    "reject_above_percent": 5.0,
                    "id_checksum": "reject",
                    "sheet": "汇缴明细",
                }
            ]
        },
    )

    columns: dict[Header, str] = Field(
        default_factory=dict,
        max_length=200,
        description="the bureau's own headers (as written; compared without spaces, width or case) → field names",
    )
    reject_above_percent: float = Field(
        DEFAULT_PROFILE.reject_above_percent,
        ge=0,
        le=100,
        description="more than this share of rows rejected refuses the whole upload",
    )
    id_checksum: IdChecksumPolicy = DEFAULT_PROFILE.id_checksum
    sheet: str | None = Field(
        DEFAULT_PROFILE.sheet,
        min_length=1,
        max_length=100,
        pattern=_TEXT,
        description="a workbook's sheet; null: the first",
    )


class StoredProfile(ProfileSettings):
    """A version of a client's profile; version 0 is the defaults of a client that has none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "feed": "deposits",
                    "client_id": "hohhot-fund-centre",
                    "version": 2,
                    "columns": {"单位全称": "unit_name", "个人证件号": "id_number"},
                    "reject_above_percent": 5.0,
                    "id_checksum": "reject",
                    "sheet": "汇缴明细",
                    "set_by": "nm-province-admin",
                    "set_by_role": "province_admin",
                    "set_at": "2024-11-02T10:20:31+08:00",
                    "changes": {"sheet": {"before": None, "after": "汇缴明细"}},
                }
            ]
        },
    )

    feed: str
    client_id: str
    version: int
    set_by: str | None = None
    set_by_role: str | None = None
    set_at: datetime | None = None
    changes: dict[str, dict[str, Any]] = {}

    def profile(self) -> FeedProfile:
        return FeedProfile(
            columns=MappingProxyType(dict(self.columns)),
            reject_above_percent=self.reject_above_percent,
            id_checksum=self.id_checksum,
            sheet=self.sheet,
            version=self.version,
            client_id=self.client_id,
        )


_COLUMNS = (
    "feed, client_id, version, columns, reject_above_percent, id_checksum, sheet, set_by, set_by_role, set_at, changes"
)
_SELECT = f"SELECT {_COLUMNS} FROM feed_profiles "


def _stored(row: Mapping[str, Any]) -> StoredProfile:
    data = dict(row)
    for name in ("columns", "changes"):
        if isinstance(data[name], str):  # jsonb: decoded on the service's pool, text on a bare connection
            data[name] = orjson.loads(data[name])
    return StoredProfile.model_validate(data)


async def current_profile(pg: asyncpg.Connection, feed: str, client_id: str) -> StoredProfile:
    """The client's latest version, or the defaults (version 0)."""
    row = await pg.fetchrow(
        _SELECT + "WHERE feed = $1 AND client_id = $2 ORDER BY version DESC LIMIT 1", feed, client_id
    )
    return _stored(row) if row else StoredProfile(feed=feed, client_id=client_id, version=0)


async def load_profile(pg: asyncpg.Connection, feed: str, client_id: str) -> FeedProfile:
    """What an upload of `client_id` to `feed` is read and judged by."""
    return (await current_profile(pg, feed, client_id)).profile()


async def profile_versions(
    pg: asyncpg.Connection, feed: str, client_id: str, *, before: int, limit: int
) -> list[StoredProfile]:
    """Versions older than `before`, newest first, at most `limit`."""
    rows = await pg.fetch(
        _SELECT + "WHERE feed = $1 AND client_id = $2 AND version < $3 ORDER BY version DESC LIMIT $4",
        feed,
        client_id,
        before,
        limit,
    )
    return [_stored(row) for row in rows]


async def save_profile(
    pg: asyncpg.Connection,
    feed: str,
    client_id: str,
    settings: ProfileSettings,
    *,
    fields: Collection[str],
    actor: str,
    role: str,
) -> StoredProfile:
    """Stores `settings` as the client's next version, noting what changed; 422 for a column mapped to a
    field the feed does not have, or two headers that read alike."""
    seen: dict[str, str] = {}
    for header, name in settings.columns.items():
        if name not in fields:
            raise Invalid(
                f"the feed has no field {name!r}; its fields: {', '.join(fields)}", loc=["body", "columns", header]
            )
        if (key := header_key(header)) in seen:
            raise Invalid(f"the headers {seen[key]!r} and {header!r} read alike", loc=["body", "columns", header])
        seen[key] = header
    # One writer at a time per client and feed: the next version number is taken under the lock.
    await pg.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"feed_profiles:{feed}:{client_id}")
    before = await current_profile(pg, feed, client_id)
    after = settings.model_dump(mode="json")
    previous = before.model_dump(mode="json", include=set(after))
    changes = {k: {"before": previous[k], "after": v} for k, v in after.items() if previous[k] != v}
    row = await pg.fetchrow(
        "INSERT INTO feed_profiles (feed, client_id, version, columns, reject_above_percent, id_checksum, sheet, "
        f"set_by, set_by_role, changes) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10::jsonb) RETURNING {_COLUMNS}",
        feed,
        client_id,
        before.version + 1,
        orjson.dumps(after["columns"]).decode(),
        settings.reject_above_percent,
        settings.id_checksum.value,
        settings.sheet,
        actor,
        role,
        orjson.dumps(changes).decode(),
    )
    return _stored(row)
