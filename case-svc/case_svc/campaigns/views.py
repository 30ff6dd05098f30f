"""Campaign routes: the province's campaigns, the shipped presets, creating a campaign."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from case_svc.campaigns import service as campaign_service
from case_svc.campaigns.models import Campaign, CampaignIn
from case_svc.deps import ActorDep
from kernel.db import driver_connection
from kernel.deps import RegionScopeDep, RuntimeDep
from kernel.errors import NotFound

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])

CampaignId = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]
RegionCode = Annotated[str, Query(pattern=r"^\d{6}$", description="region and everything under it")]


async def get_campaign(campaign_id: CampaignId, runtime: RuntimeDep, scope: RegionScopeDep) -> Campaign:
    async with runtime.db.engine.connect() as conn:
        campaign = await campaign_service.get_campaign(await driver_connection(conn), campaign_id)
    # A city bureau sees its province's campaign: the scopes need only overlap.
    if campaign is None or not scope.patterns(campaign.province_code):
        raise NotFound("no campaign with this id", loc=["path", "campaign_id"])
    return campaign


CurrentCampaign = Annotated[Campaign, Depends(get_campaign)]


@router.get("", response_model=list[Campaign], summary="Campaigns of the region's province")
async def campaigns(runtime: RuntimeDep, scope: RegionScopeDep, region_code: RegionCode = "000000") -> list[Campaign]:
    async with runtime.db.engine.connect() as conn:
        return await campaign_service.list_campaigns(await driver_connection(conn), scope.patterns(region_code))


@router.get(
    "/presets",
    response_model=list[CampaignIn],
    summary="The campaigns shipped ready (Inner Mongolia 2024, Heilongjiang 2018–19)",
)
async def presets() -> list[CampaignIn]:
    return campaign_service.presets()


@router.post("/presets/{campaign_id}", response_model=Campaign, summary="Load or restore a shipped campaign")
async def load_preset(campaign_id: CampaignId, runtime: RuntimeDep, scope: RegionScopeDep, actor: ActorDep) -> Campaign:
    preset = next((p for p in campaign_service.presets() if p.campaign_id == campaign_id), None)
    if preset is not None:
        scope.require(preset.province_code, "campaign preset", ["path", "campaign_id"])
    async with runtime.db.transaction() as conn:
        return await campaign_service.load_preset(await driver_connection(conn), campaign_id, actor)


@router.post("", response_model=Campaign, status_code=201, summary="Create a campaign")
async def create_campaign(body: CampaignIn, runtime: RuntimeDep, scope: RegionScopeDep, actor: ActorDep) -> Campaign:
    scope.require(body.province_code, "province", ["body", "province_code"])
    async with runtime.db.transaction() as conn:
        return await campaign_service.create_campaign(await driver_connection(conn), body, actor)


@router.get("/{campaign_id}", response_model=Campaign, summary="A campaign")
async def campaign(current: CurrentCampaign) -> Campaign:
    return current
