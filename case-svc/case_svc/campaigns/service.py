"""Campaigns: reading them, loading the shipped presets, creating one; which campaign a region's case belongs to."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.audit import service as audit_service
from case_svc.campaigns.presets import PRESETS
from case_svc.campaigns.schemas import Campaign, CampaignIn
from case_svc.db import from_jsonb, to_jsonb
from kernel.errors import Conflict, NotFound
from kernel.scope import RegionScope

_CAMPAIGN = "SELECT campaign_id, province_code, name, config, created_at, updated_at FROM campaigns "


def _campaign(row: Any) -> Campaign:
    config = from_jsonb(row["config"])
    return Campaign.model_validate(
        {
            **config,
            "region_code": row["province_code"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
    )


def province_of(region_code: str) -> str:
    return region_code[:2] + "0000"


async def list_campaigns(pg: asyncpg.Connection, patterns: list[str]) -> list[Campaign]:
    """Campaigns whose province overlaps the caller's regions (a city bureau sees its province's)."""
    provinces = sorted({p[:2] for p in patterns})
    if not patterns:
        return []
    rows = await pg.fetch(
        _CAMPAIGN + "WHERE substr(province_code, 1, 2) = ANY($1) OR $2 ORDER BY province_code, campaign_id",
        provinces,
        "%" in patterns,
    )
    return [_campaign(row) for row in rows]


async def get_campaign(pg: asyncpg.Connection, campaign_id: str) -> Campaign | None:
    row = await pg.fetchrow(_CAMPAIGN + "WHERE campaign_id = $1", campaign_id)
    return _campaign(row) if row else None


async def visible_campaign(
    pg: asyncpg.Connection, campaign_id: str, scope: RegionScope, loc: list[str | int]
) -> Campaign:
    """The campaign, or a 404 at `loc` when there is none or it is not the province of any of the caller's
    regions (a city bureau sees its province's campaign: the scopes need only overlap)."""
    campaign = await get_campaign(pg, campaign_id)
    if campaign is None or not scope.patterns(campaign.province_code):
        raise NotFound("no campaign with this id", loc=loc)
    return campaign


async def campaign_for_region(pg: asyncpg.Connection, region_code: str) -> Campaign | None:
    """The campaign a case of this region belongs to: its province's latest started one."""
    row = await pg.fetchrow(
        _CAMPAIGN + "WHERE province_code = $1 ORDER BY config->'phases'->0->>'starts_on' DESC, campaign_id LIMIT 1",
        province_of(region_code),
    )
    return _campaign(row) if row else None


async def _store(pg: asyncpg.Connection, campaign: CampaignIn, *, replace: bool) -> Campaign:
    config = campaign.model_dump(mode="json")
    conflict = (
        "DO UPDATE SET (province_code, name, config, updated_at) = (excluded.province_code, excluded.name, excluded.config, now())"
        if replace
        else "DO NOTHING"
    )
    row = await pg.fetchrow(
        "INSERT INTO campaigns (campaign_id, province_code, name, config) VALUES ($1, $2, $3, $4::jsonb) "
        f"ON CONFLICT (campaign_id) {conflict} RETURNING campaign_id, province_code, name, config, created_at, updated_at",
        campaign.campaign_id,
        campaign.province_code,
        campaign.name,
        to_jsonb(config),
    )
    if row is None:
        raise Conflict(f"a campaign {campaign.campaign_id} exists already", loc=["body", "campaign_id"])
    return _campaign(row)


async def create_campaign(pg: asyncpg.Connection, campaign: CampaignIn, actor: Actor) -> Campaign:
    stored = await _store(pg, campaign, replace=False)
    await audit_service.record(
        pg,
        entity="campaign",
        entity_id=stored.campaign_id,
        action="create",
        actor=actor,
        after=campaign.model_dump(mode="json"),
    )
    return stored


async def load_preset(pg: asyncpg.Connection, campaign_id: str, actor: Actor) -> Campaign:
    """Loads (or restores) a shipped preset."""
    if campaign_id not in PRESETS:
        raise NotFound(f"no preset {campaign_id}; presets: {', '.join(PRESETS)}", loc=["path", "campaign_id"])
    before = await get_campaign(pg, campaign_id)
    stored = await _store(pg, CampaignIn.model_validate(PRESETS[campaign_id]), replace=True)
    await audit_service.record(
        pg,
        entity="campaign",
        entity_id=campaign_id,
        action="load_preset",
        actor=actor,
        before=before.model_dump(mode="json") if before else None,
        after=PRESETS[campaign_id],
    )
    return stored


def presets() -> list[CampaignIn]:
    return [CampaignIn.model_validate(p) for p in PRESETS.values()]


def in_self_correction(campaign: Campaign, day: date) -> bool:
    """Whether a registration cancelled on `day` was cancelled during the campaign's 自查自纠."""
    phase = campaign.phase("self_correction")
    return phase is not None and phase.starts_on <= day <= phase.ends_on
