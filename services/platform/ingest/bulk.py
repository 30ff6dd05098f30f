"""SQL for set-based bulk writes: a chunk of rows bound as one array per column, upserted in one statement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def unnest_sql(columns: Mapping[str, str]) -> str:
    """`unnest($1::type[], ...) AS input(col, ...)` for `columns` (name → SQL type), bound in order."""
    arrays = ", ".join(f"${i}::{sql_type}[]" for i, sql_type in enumerate(columns.values(), start=1))
    return f"unnest({arrays}) AS input({', '.join(columns)})"


def column_arrays(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> list[list[Any]]:
    """The chunk as one list per column, in `columns` order (asyncpg binds lists as arrays)."""
    return [[row[name] for row in rows] for name in columns]


def upsert_changed(
    table: str,
    key: Sequence[str],
    values: Sequence[str],
    select: str,
    *,
    stamps: Sequence[str] = ("batch_id",),
    returning: str = "1",
    updates: Mapping[str, str] | None = None,
) -> str:
    """INSERT … ON CONFLICT DO UPDATE that writes only rows that are new or whose `values` differ.

    `select` yields key, values and stamps in that order; stamps (the batch id…) are written with a
    change but do not count as one, so a re-sent unchanged record touches nothing. Returns
    `returning` for each written row (use it as a CTE). `updates` gives the new value of a column of an
    existing record where it is not simply `excluded.<column>` (an expression of `excluded` and `table`).
    """
    listed = ", ".join(values)
    updated = ", ".join((*values, *stamps))
    new = {c: (updates or {}).get(c, f"excluded.{c}") for c in (*values, *stamps)}
    excluded = ", ".join(new.values())
    current = ", ".join(f"{table}.{c}" for c in values)
    compared = ", ".join(new[c] for c in values)
    return (
        f"INSERT INTO {table} ({', '.join(key)}, {listed}, {', '.join(stamps)}) {select} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET ({updated}, updated_at) = ROW({excluded}, now()) "
        f"WHERE ({current}) IS DISTINCT FROM ({compared}) RETURNING {returning}"
    )
