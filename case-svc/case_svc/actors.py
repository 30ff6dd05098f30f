"""Who acts: the officer, client or service every change to a case, complaint or campaign is recorded against.

Always the verified caller of the request (kernel.credentials: the credential the gateway signed for
an officer, or a service credential), or the system itself for what findings do — never a header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from case_svc.cases.workflow import LEVEL_ROLES
from kernel.scope import RegionScope

# The roles that handle cases and complaints; the steps each may take are the workflow's owners table.
OFFICER_ROLES = frozenset(LEVEL_ROLES.values())


@dataclass(frozen=True)
class Actor:
    id: str
    role: str | None = None
    # The officers the request names, as the gateway vouches for them (kernel.credentials `Caller.officers`):
    # username → their regions. None for a service or the system, which name officers on their own authority.
    officers: Mapping[str, tuple[str, ...]] | None = field(default=None, hash=False)

    @property
    def is_officer(self) -> bool:
        return self.role in OFFICER_ROLES

    def why_not_assignable(self, assignee: str, region_code: str) -> str | None:
        """Why a case of the region may not go to the officer (None: it may): the gateway knows no active
        account of that name able to work cases, or the account's regions do not cover the case's."""
        if self.officers is None:
            return None
        regions = self.officers.get(assignee)
        if regions is None:
            return f"{assignee} is not the username of an active officer account that works cases"
        if not RegionScope.of(regions).allows(region_code):
            return f"{assignee} works in {', '.join(regions)}, which does not cover {region_code}"
        return None
