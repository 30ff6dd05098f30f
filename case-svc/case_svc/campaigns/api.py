"""Campaign routes: the province's campaigns, the shipped presets, creating a campaign."""

from __future__ import annotations

from fastapi import APIRouter

from case_svc.campaigns import service as campaign_service
from case_svc.campaigns.presets import PRESETS
from case_svc.campaigns.schemas import Campaign, CampaignIn
from case_svc.deps import ActorDep, CampaignId, CurrentCampaign
from kernel.deps import DbConnection, DbTransaction, RegionCode, RegionScopeDep

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])


@router.get("", response_model=list[Campaign], summary="Campaigns of the region's province")
async def campaigns(pg: DbConnection, scope: RegionScopeDep, region_code: RegionCode = "000000") -> list[Campaign]:
    return await campaign_service.list_campaigns(pg, scope.patterns(region_code))


@router.get(
    "/presets",
    response_model=list[CampaignIn],
    summary="The campaigns shipped ready (Inner Mongolia 2024, Heilongjiang 2018–19)",
)
async def presets() -> list[CampaignIn]:
    return campaign_service.presets()


@router.post("/presets/{campaign_id}", response_model=Campaign, summary="Load or restore a shipped campaign")
async def load_preset(campaign_id: CampaignId, pg: DbTransaction, scope: RegionScopeDep, actor: ActorDep) -> Campaign:
    if campaign_id in PRESETS:
        scope.require(PRESETS[campaign_id]["province_code"], "campaign preset", ["path", "campaign_id"])
    return await campaign_service.load_preset(pg, campaign_id, actor)


@router.post("", response_model=Campaign, status_code=201, summary="Create a campaign")
async def create_campaign(body: CampaignIn, pg: DbTransaction, scope: RegionScopeDep, actor: ActorDep) -> Campaign:
    scope.require(body.province_code, "province", ["body", "province_code"])
    return await campaign_service.create_campaign(pg, body, actor)


@router.get("/{campaign_id}", response_model=Campaign, summary="A campaign")
async def campaign(current: CurrentCampaign) -> Campaign:
    return current
