"""Cursor paging shared by every list endpoint: opaque cursors over a keyset, capped page sizes."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from kernel.errors import DomainError

T = TypeVar("T")
MAX_PAGE = 1000


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key, default=str)).decode().rstrip("=")


def decode_cursor(cursor: str | None, start: Sequence[Any]) -> list[Any]:
    """The keyset a page starts after: `start` (before the first row) without a cursor, else the cursor's.

    A cursor must have the shape of `start` — as many parts, each of the same type (a UUID part travels
    as text) and no NUL in text — so a tampered cursor is a clear 400, never a database error.
    """
    if not cursor:
        return list(start)
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(value, list) or len(value) != len(start):
            raise ValueError("not a keyset of this list")
        return [_keyset_part(part, like) for part, like in zip(value, start, strict=True)]
    except ValueError:
        raise DomainError("the cursor is not one this API gave out", loc=["query", "cursor"]) from None


def _keyset_part(part: Any, like: Any) -> Any:
    if isinstance(like, uuid.UUID) and isinstance(part, str):
        return uuid.UUID(part)
    if type(part) is not type(like) or (isinstance(part, str) and "\x00" in part):
        raise ValueError("a keyset part of another type")
    return part


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
