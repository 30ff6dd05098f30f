"""Feed clients' profiles over HTTP (every data service the same way): a province administrator sets how one
bureau's files are read — its own column headers, the rejection threshold, the ID check-character policy,
the workbook's sheet — and reads the current version and the history. An upload reads its client's
profile once, at its start (`Uploader.profile`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Path, Query

from ingest.feeds import Feed
from ingest.profiles import (
    FeedProfile,
    ProfileSettings,
    StoredProfile,
    current_profile,
    load_profile,
    profile_versions,
    save_profile,
)
from kernel.credentials import Caller
from kernel.deps import CallerDep, DbConnection, DbTransaction, RegionScopeDep
from kernel.errors import Forbidden, NotFound
from kernel.paging import Cursor, Limit, Page, decode_cursor, encode_cursor
from kernel.scope import RegionScope

log = logging.getLogger(__name__)

ADMIN_SCOPE = "campaign:admin"
_LAST = 2**31 - 1  # the versions cursor starts above every version (and is clamped to the column's range)
ClientId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$",
        description="the feed client (the gateway's client id) whose uploads the profile reads",
        examples=["hohhot-insurance-centre"],
    ),
]
FeedKind = Annotated[
    str, Path(pattern=r"^[a-z_]{1,40}$", description="the feed, as in its upload's path", examples=["deposits"])
]
Sheet = Annotated[
    str | None,
    Query(
        min_length=1, max_length=100, description="a workbook's sheet to read (default: the profile's, else the first)"
    ),
]


def _require_admin(caller: Caller, scope: RegionScope) -> None:
    """A province administrator (or an operator's tool): a profile decides how a whole feed is read."""
    if not (caller.is_service or ADMIN_SCOPE in caller.scopes) or not scope.covers_provinces():
        raise Forbidden(
            f"a feed client's profile is set by a province administrator ({ADMIN_SCOPE})",
            loc=["header", "authorization"],
        )


def profile_router(feeds: Sequence[Feed]) -> APIRouter:
    """`PUT|GET /feeds/{feed}/profiles/{client_id}` and `GET …/versions` for the service's feeds."""
    router = APIRouter()
    by_kind = {feed.kind.value: feed for feed in feeds}

    def feed_of(kind: str) -> Feed:
        if kind not in by_kind:
            raise NotFound(f"no feed {kind!r} here; feeds: {', '.join(by_kind)}", loc=["path", "feed"])
        return by_kind[kind]

    @router.put(
        "/feeds/{feed}/profiles/{client_id}",
        response_model=StoredProfile,
        summary="Set how a feed client's files are read",
        description="Stores a new version (the earlier ones are kept, with who set them, when and what changed). "
        "`columns` maps the bureau's own headers to the feed's fields and wins over the built-in spellings; "
        "422 for a field the feed does not have.",
    )
    async def set_profile(
        feed: FeedKind,
        client_id: ClientId,
        settings: ProfileSettings,
        pg: DbTransaction,
        caller: CallerDep,
        scope: RegionScopeDep,
    ) -> StoredProfile:
        _require_admin(caller, scope)
        found = feed_of(feed)
        stored = await save_profile(
            pg, feed, client_id, settings, fields=[f.name for f in found.fields], actor=caller.actor, role=caller.role
        )
        log.info(
            "feed profile set",
            extra={"feed": feed, "client_id": client_id, "version": stored.version, "actor": caller.actor},
        )
        return stored

    @router.get(
        "/feeds/{feed}/profiles/{client_id}",
        response_model=StoredProfile,
        summary="How a feed client's files are read now",
        description="The latest version; version 0 (the defaults) for a client that has none.",
    )
    async def get_profile(
        feed: FeedKind, client_id: ClientId, pg: DbConnection, caller: CallerDep, scope: RegionScopeDep
    ) -> StoredProfile:
        _require_admin(caller, scope)
        feed_of(feed)
        return await current_profile(pg, feed, client_id)

    @router.get(
        "/feeds/{feed}/profiles/{client_id}/versions",
        response_model=Page[StoredProfile],
        summary="Every version of a feed client's profile",
        description="Newest first: who set each one, when, and what it changed (`changes`: before and after).",
    )
    async def get_versions(
        feed: FeedKind,
        client_id: ClientId,
        pg: DbConnection,
        caller: CallerDep,
        scope: RegionScopeDep,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Page[StoredProfile]:
        _require_admin(caller, scope)
        feed_of(feed)
        (before,) = decode_cursor(cursor, [_LAST])
        found = await profile_versions(pg, feed, client_id, before=max(0, min(before, _LAST)), limit=limit + 1)
        items = found[:limit]
        more = len(found) > limit
        return Page[StoredProfile](items=items, next_cursor=encode_cursor([items[-1].version]) if more else None)

    return router


@dataclass(frozen=True)
class Uploader:
    """Who uploads (the verified caller's actor: the gateway's client id) and the sheet it asked for."""

    client_id: str
    sheet: str | None

    async def profile(self, pg: asyncpg.Connection, feed: str) -> FeedProfile:
        """The client's profile for `feed`, read once at the upload's start; `?sheet=` wins over its sheet."""
        found = await load_profile(pg, feed, self.client_id)
        return replace(found, sheet=self.sheet) if self.sheet else found


def _uploader(caller: CallerDep, sheet: Sheet = None) -> Uploader:
    return Uploader(caller.actor, sheet)


UploaderDep = Annotated[Uploader, Depends(_uploader)]
