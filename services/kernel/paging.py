"""Cursor paging shared by every list endpoint: opaque cursors over a keyset, capped page sizes."""

from __future__ import annotations

import base64
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


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise DomainError("the cursor is not one this API gave out", loc=["query", "cursor"]) from None
    if not isinstance(value, list):
        raise DomainError("the cursor is not one this API gave out", loc=["query", "cursor"])
    return value


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
