"""case-svc's database: its MetaData (with the kernel's outbox and processed-events tables), to which each
noun adds its tables, and the jsonb codecs of its raw SQL."""

from __future__ import annotations

from typing import Any

import orjson

from kernel.db import service_metadata

metadata = service_metadata()


def to_jsonb(value: Any) -> str:
    """A value bound to a jsonb parameter (the SQLAlchemy asyncpg codecs exchange jsonb as text)."""
    return orjson.dumps(value, default=str).decode()


def from_jsonb(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value
