"""Region scope: which regions the caller may see, from the regions its verified credential states
(kernel.credentials; `000000` is everything).

Every list narrows its `region_code` filter with `RegionScope.within` (a filter naming a region wholly
outside the caller's is a 403 "outside your regions": the caller asked for what it may not see), and
every object loader answers 404 (not 403: the object's existence is not revealed) when
`RegionScope.allows` says no (`require`). A region the caller names in a body (a sweep, a new case) is
checked with `require_region`: 403 the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kernel.errors import Forbidden, NotFound
from kernel.regions import region_prefix

EVERYWHERE = "000000"
OUTSIDE_YOUR_REGIONS = "the region is outside your regions"


def _prefix(code: str) -> str:
    return "" if code == EVERYWHERE else region_prefix(code)


@dataclass(frozen=True)
class RegionScope:
    """The region prefixes a caller may see; `None` means every region."""

    prefixes: tuple[str, ...] | None = None

    @classmethod
    def of(cls, codes: Sequence[str]) -> RegionScope:
        """The scope of these division codes (a credential's regions)."""
        prefixes = tuple(_prefix(code) for code in codes)
        return cls(None if "" in prefixes else prefixes)

    def allows(self, region_code: str | None) -> bool:
        if self.prefixes is None:
            return True
        return region_code is not None and any(region_code.startswith(p) for p in self.prefixes)

    def covers_provinces(self) -> bool:
        """Whether the caller sees whole provinces (or everything), not just some cities or counties."""
        return self.prefixes is None or all(len(prefix) <= 2 for prefix in self.prefixes)

    def allows_any(self, region_codes: list[str]) -> bool:
        return any(self.allows(code) for code in region_codes)

    def require(self, region_code: str | None, what: str, loc: list[str | int]) -> None:
        """404 for an object outside the scope, worded as if it did not exist."""
        if not self.allows(region_code):
            raise NotFound(f"no {what} with this reference", loc=loc)

    def require_region(self, region_code: str, loc: list[str | int]) -> None:
        """403 for a region the caller names (in a body) that it may not act on: the region and everything
        under it must be within the caller's regions (000000 only for an unrestricted caller)."""
        if not self.allows(region_code):
            raise Forbidden(OUTSIDE_YOUR_REGIONS, loc=loc)

    def within(self, region_code: str = EVERYWHERE, loc: list[str | int] | None = None) -> list[str]:
        """`patterns(region_code)` for a list's `region_code` filter; a 403 when the requested region and the
        caller's do not overlap at all (a filter on a region the caller may not see is refused, not answered
        with an empty page)."""
        found = self.patterns(region_code)
        if not found:
            raise Forbidden(OUTSIDE_YOUR_REGIONS, loc=loc or ["query", "region_code"])
        return found

    def patterns(self, region_code: str = EVERYWHERE) -> list[str]:
        """LIKE patterns for `region_code LIKE ANY(...)`: the requested region (and everything under
        it) intersected with the scope. Empty when they do not overlap: the list is empty."""
        requested = _prefix(region_code)
        if self.prefixes is None:
            return [requested + "%"]
        narrowed = set()
        for prefix in self.prefixes:
            if requested.startswith(prefix):
                narrowed.add(requested)
            elif prefix.startswith(requested):
                narrowed.add(prefix)
        return sorted(p + "%" for p in narrowed)


UNRESTRICTED = RegionScope(None)
