"""Administrative division codes (GB/T 2260) as region filters: a province sees its cities, a city its counties."""

from __future__ import annotations

from kernel.errors import DomainError


def region_prefix(code: str) -> str:
    """150000 → "15" (the province), 150100 → "1501" (the city), 150102 → "150102" (the county)."""
    if len(code) != 6 or not code.isdigit():
        raise DomainError("a region code has 6 digits", loc=["query", "region_code"])
    prefix = code
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix


def like_prefix(code: str) -> str:
    """A LIKE pattern matching the region and everything under it."""
    return region_prefix(code) + "%"
