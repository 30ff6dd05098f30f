"""registry-svc's own route dependencies: the unit a path names, found within the caller's regions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from domain.identifiers import InvalidIdentifier, normalize_uscc
from kernel.deps import DbConnection, RegionScopeDep
from kernel.errors import NotFound
from registry_svc import queries
from registry_svc.schemas import Unit


async def get_unit(uscc: str, pg: DbConnection, scope: RegionScopeDep) -> Unit:
    """The unit whose USCC (any case) the path names; 404 when there is none or it is outside the caller's regions."""
    try:
        uscc = normalize_uscc(uscc)
    except InvalidIdentifier as exc:
        raise NotFound(f"no such unit: {exc.message}", loc=["path", "uscc"]) from None
    found = await queries.unit_by_uscc(pg, uscc)
    # Absent and outside the caller's regions are worded alike: the answer reveals nothing.
    scope.require(found.region_code if found else None, "unit", ["path", "uscc"])
    if found is None:
        raise NotFound("no unit with this reference", loc=["path", "uscc"])
    return found


CurrentUnit = Annotated[Unit, Depends(get_unit)]
