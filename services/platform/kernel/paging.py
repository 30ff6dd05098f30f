"""Cursor paging shared by every list endpoint: opaque cursors over a keyset, capped page sizes."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar, get_args

import orjson
from fastapi import Query
from pydantic import BaseModel, ConfigDict

from kernel.errors import Invalid

T = TypeVar("T")
MAX_PAGE = 1000


def _page_example(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """A page's example: its item model's first example, and a cursor to the next page."""
    item = next(iter(get_args(cls.model_fields["items"].annotation)), None)
    extra = (
        item.model_config.get("json_schema_extra") if isinstance(item, type) and issubclass(item, BaseModel) else None
    )
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if isinstance(examples, list) and examples:
        schema["examples"] = [{"items": examples[:1], "next_cursor": EXAMPLE_CURSOR}]


class Page(BaseModel, Generic[T]):
    """Every list of the suite: a page of items and the cursor of the next page (null on the last)."""

    model_config = ConfigDict(json_schema_extra=_page_example)

    items: list[T]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key, default=str)).decode().rstrip("=")


EXAMPLE_CURSOR = encode_cursor(["150102", "0f3a9c4e-2b1d-4e8a-9c7f-1d2e3f4a5b6c"])


def decode_cursor(cursor: str | None, start: Sequence[Any]) -> list[Any]:
    """The keyset a page starts after: `start` (before the first row) without a cursor, else the cursor's.

    A cursor must have the shape of `start` — as many parts, each of the same type (a UUID part travels
    as text) and no NUL in text — so a tampered cursor is a 422 like any invalid parameter, never a
    database error.
    """
    if not cursor:
        return list(start)
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(value, list) or len(value) != len(start):
            raise ValueError("not a keyset of this list")
        return [_keyset_part(part, like) for part, like in zip(value, start, strict=True)]
    except ValueError:
        raise Invalid("the cursor is not one this API gave out", loc=["query", "cursor"]) from None


def _keyset_part(part: Any, like: Any) -> Any:
    if isinstance(like, uuid.UUID) and isinstance(part, str):
        return uuid.UUID(part)
    if type(part) is not type(like) or (isinstance(part, str) and "\x00" in part):
        raise ValueError("a keyset part of another type")
    return part


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
