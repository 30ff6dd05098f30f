"""Campaign routes: the province's campaigns, the shipped presets (loaded as they are, or instantiated with
dates of their own), creating a campaign. The reports a campaign requires are under /api/v1/reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from case_svc import examples
from case_svc.campaigns import service as campaign_service
from case_svc.campaigns.schemas import Campaign, CampaignIn, PresetInstance
from case_svc.deps import ActorDep, CampaignId, CurrentCampaign
from kernel.deps import DbConnection, DbTransaction, RegionCode, RegionScopeDep
from kernel.paging import Cursor, Limit, Page

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])


@router.get("", response_model=Page[Campaign], summary="Campaigns of the region's province")
async def campaigns(
    pg: DbConnection,
    scope: RegionScopeDep,
    region_code: RegionCode = "000000",
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[Campaign]:
    return await campaign_service.list_campaigns(pg, scope.within(region_code), cursor=cursor, limit=limit)


@router.get(
    "/presets",
    response_model=Page[CampaignIn],
    summary="The campaigns shipped ready (Inner Mongolia 2024, Heilongjiang 2018–19)",
)
async def presets(cursor: Cursor = None, limit: Limit = 100) -> Page[CampaignIn]:
    return await campaign_service.list_presets(cursor=cursor, limit=limit)


@router.post(
    "/presets/{campaign_id}",
    response_model=Campaign,
    summary="Load or restore a shipped campaign (200), or instantiate it with an id and start month of its own (201)",
    responses={201: {"description": "a new campaign made from the preset", "model": Campaign}},
)
async def load_preset(
    campaign_id: CampaignId,
    pg: DbTransaction,
    scope: RegionScopeDep,
    actor: ActorDep,
    response: Response,
    instance: Annotated[
        PresetInstance | None,
        Body(
            openapi_examples={
                "instance": {
                    "summary": "Heilongjiang's plan again, from January 2026 (HLJ-2026)",
                    "value": examples.PRESET_INSTANCE,
                },
                "restore": {"summary": "the preset as shipped (the same as no body)", "value": {}},
            }
        ),
    ] = None,
) -> Campaign:
    preset = campaign_service.preset(campaign_id)
    scope.require_region(preset.region_code, ["path", "campaign_id"])
    own_start = f"{preset.starts_on():%Y-%m}"
    if instance is None or (instance.campaign_id in (None, campaign_id) and instance.starts_in in (None, own_start)):
        return await campaign_service.load_preset(pg, campaign_id, actor)
    response.status_code = 201
    return await campaign_service.instantiate_preset(pg, campaign_id, instance, actor)


@router.post("", response_model=Campaign, status_code=201, summary="Create a campaign")
async def create_campaign(body: CampaignIn, pg: DbTransaction, scope: RegionScopeDep, actor: ActorDep) -> Campaign:
    scope.require_region(body.region_code, ["body", "region_code"])
    return await campaign_service.create_campaign(pg, body, actor)


@router.get("/{campaign_id}", response_model=Campaign, summary="A campaign")
async def campaign(current: CurrentCampaign) -> Campaign:
    return current
