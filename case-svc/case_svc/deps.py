"""What case-svc's routes name to get what they need: the typed runtime, who acts, and the case, complaint
or campaign of the path (a 404 when there is none, or when it lies outside the caller's regions).

Who acts is the verified caller (`CallerDep`, kernel.credentials): actor and role as the credential
states them, never a header a request could add. The audit trail records the actor of every change.
Opening a case and handling a complaint take an officer (`OfficerDep`); which officer may take which
step of a case is the workflow's owners table (cases/workflow.py), checked on the locked case.

A case or complaint in the path is named by its id (uuid) or by the number people see printed
(AJ-150102-2026-000004, TS-150100-2026-000001), with the same region scope either way.

A route that changes a case or a complaint takes it locked (`LockedCase`, `LockedComplaint`): read
`FOR UPDATE` in the route's own transaction (`DbTransaction`), so two officers acting at once are
serialised and the second one meets the state the first one left.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from case_svc.actors import OFFICER_ROLES, Actor
from case_svc.campaigns import service as campaign_service
from case_svc.campaigns.schemas import CAMPAIGN_ID_PATTERN, Campaign
from case_svc.cases import service as case_service
from case_svc.cases.record import Case
from case_svc.complaints import service as complaint_service
from case_svc.complaints.schemas import Complaint
from case_svc.settings import CaseSettings
from kernel.deps import CallerDep, DbConnection, DbTransaction, RegionScopeDep, get_runtime
from kernel.errors import Forbidden
from kernel.service import Runtime

RuntimeDep = Annotated[Runtime[CaseSettings], Depends(get_runtime)]


def current_actor(caller: CallerDep) -> Actor:
    return Actor(id=caller.actor, role=caller.role, officers=None if caller.is_service else caller.officers)


ActorDep = Annotated[Actor, Depends(current_actor)]


def acting_officer(actor: ActorDep) -> Actor:
    """The caller, if an officer: a feed, a dashboard or one of the suite's services opens no case and
    handles no complaint (their changes would be recorded against no one answerable)."""
    if not actor.is_officer:
        raise Forbidden(
            f"only an officer ({', '.join(sorted(OFFICER_ROLES))}) opens cases and handles complaints, "
            f"not a {actor.role}",
            loc=["header", "authorization"],
        )
    return actor


OfficerDep = Annotated[Actor, Depends(acting_officer)]

CaseId = Annotated[
    str,
    Path(
        description="the case: its id (uuid) or its number (案件编号) as printed, e.g. AJ-150102-2026-000004",
        examples=["AJ-150102-2026-000004"],
    ),
]
CASE_LOC: list[str | int] = ["path", "case_id"]


async def get_case(case_id: CaseId, pg: DbConnection, scope: RegionScopeDep) -> Case:
    return await case_service.visible_case(pg, case_service.case_key(case_id, CASE_LOC), scope, CASE_LOC)


async def lock_case(case_id: CaseId, pg: DbTransaction, scope: RegionScopeDep) -> Case:
    return await case_service.visible_case(pg, case_service.case_key(case_id, CASE_LOC), scope, CASE_LOC, lock=True)


CurrentCase = Annotated[Case, Depends(get_case)]
LockedCase = Annotated[Case, Depends(lock_case)]

ComplaintId = Annotated[
    str,
    Path(
        description="the complaint: its id (uuid) or its registration number (登记编号) as printed, "
        "e.g. TS-150100-2026-000001",
        examples=["TS-150100-2026-000001"],
    ),
]
COMPLAINT_LOC: list[str | int] = ["path", "complaint_id"]


async def get_complaint(complaint_id: ComplaintId, pg: DbConnection, scope: RegionScopeDep) -> Complaint:
    key = complaint_service.complaint_key(complaint_id, COMPLAINT_LOC)
    return await complaint_service.visible_complaint(pg, key, scope)


async def lock_complaint(complaint_id: ComplaintId, pg: DbTransaction, scope: RegionScopeDep) -> Complaint:
    key = complaint_service.complaint_key(complaint_id, COMPLAINT_LOC)
    return await complaint_service.visible_complaint(pg, key, scope, lock=True)


CurrentComplaint = Annotated[Complaint, Depends(get_complaint)]
LockedComplaint = Annotated[Complaint, Depends(lock_complaint)]


def sees_personal_data(caller: CallerDep) -> bool:
    """Whether the caller's answers and exports may carry names and ID fragments (not the dashboard's)."""
    return caller.sees_personal_data


PersonalDataDep = Annotated[bool, Depends(sees_personal_data)]

CampaignId = Annotated[
    str, Path(pattern=CAMPAIGN_ID_PATTERN, description="the campaign (or preset), e.g. HLJ-2018", examples=["HLJ-2018"])
]


async def get_campaign(campaign_id: CampaignId, pg: DbConnection, scope: RegionScopeDep) -> Campaign:
    return await campaign_service.visible_campaign(pg, campaign_id, scope, ["path", "campaign_id"])


CurrentCampaign = Annotated[Campaign, Depends(get_campaign)]
