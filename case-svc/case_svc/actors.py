"""Who acts: the officer, client or service every change to a case, complaint or campaign is recorded against.

Always the verified caller of the request (kernel.credentials: the credential the gateway signed for
an officer, or a service credential), or the system itself for what findings do — never a header.
"""

from __future__ import annotations

from dataclasses import dataclass

from case_svc.cases.workflow import LEVEL_ROLES

# The roles that handle cases and complaints; the steps each may take are the workflow's owners table.
OFFICER_ROLES = frozenset(LEVEL_ROLES.values())


@dataclass(frozen=True)
class Actor:
    id: str
    role: str | None = None

    @property
    def is_officer(self) -> bool:
        return self.role in OFFICER_ROLES
