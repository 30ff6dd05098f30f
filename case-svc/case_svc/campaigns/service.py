"""Campaigns: reading them, loading or instantiating the shipped presets, creating one; which campaign a
region's case belongs to; the reports a campaign requires and the period each covers."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.audit import service as audit_service
from case_svc.campaigns.presets import PRESETS
from case_svc.campaigns.schemas import Campaign, CampaignIn, CampaignReport, PresetInstance, ReportPeriod
from case_svc.db import from_jsonb, to_jsonb
from kernel.errors import Conflict, Invalid, NotFound
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.regions import region_full_name
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


async def list_campaigns(
    pg: asyncpg.Connection, patterns: list[str], *, cursor: str | None, limit: int
) -> Page[Campaign]:
    """Campaigns whose province overlaps the caller's regions (a city bureau sees its province's)."""
    provinces = sorted({p[:2] for p in patterns})
    after = decode_cursor(cursor, ["", ""])
    rows = await pg.fetch(
        _CAMPAIGN + "WHERE (substr(province_code, 1, 2) = ANY($1) OR $2) AND (province_code, campaign_id) > ($3, $4) "
        "ORDER BY province_code, campaign_id LIMIT $5",
        provinces,
        "%" in patterns,
        after[0],
        after[1],
        limit + 1,
    )
    items = [_campaign(row) for row in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return Page[Campaign](
        items=items, next_cursor=encode_cursor([last.region_code, last.campaign_id]) if last else None
    )


async def get_campaign(pg: asyncpg.Connection, campaign_id: str) -> Campaign | None:
    row = await pg.fetchrow(_CAMPAIGN + "WHERE campaign_id = $1", campaign_id)
    return _campaign(row) if row else None


async def visible_campaign(
    pg: asyncpg.Connection, campaign_id: str, scope: RegionScope, loc: list[str | int]
) -> Campaign:
    """The campaign, or a 404 at `loc` when there is none or it is not the province of any of the caller's
    regions (a city bureau sees its province's campaign: the scopes need only overlap)."""
    campaign = await get_campaign(pg, campaign_id)
    if campaign is None or not scope.patterns(campaign.region_code):
        raise NotFound("no campaign with this reference", loc=loc)
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
        campaign.region_code,
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


def preset(preset_id: str) -> CampaignIn:
    """A shipped preset, or a 404 naming the presets there are."""
    if preset_id not in PRESETS:
        raise NotFound(f"no preset with this reference; presets: {', '.join(PRESETS)}", loc=["path", "campaign_id"])
    return CampaignIn.model_validate(PRESETS[preset_id])


async def load_preset(pg: asyncpg.Connection, preset_id: str, actor: Actor) -> Campaign:
    """Loads (or restores) a shipped preset under its own id."""
    campaign = preset(preset_id)
    before = await get_campaign(pg, preset_id)
    stored = await _store(pg, campaign, replace=True)
    await audit_service.record(
        pg,
        entity="campaign",
        entity_id=preset_id,
        action="load_preset",
        actor=actor,
        before=before.model_dump(mode="json") if before else None,
        after=campaign.model_dump(mode="json"),
    )
    return stored


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, keeping its day of the month (a month's last day stays the last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    at_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if at_end else min(day.day, last))


def _month_after(month: str, months: int) -> str:
    moved = add_months(date.fromisoformat(month + "-01"), months)
    return f"{moved:%Y-%m}"


def instance_of(preset_id: str, instance: PresetInstance) -> CampaignIn:
    """The preset as a campaign of its own: its id, and its dates moved so it starts in `starts_in`."""
    template = preset(preset_id)
    first = template.starts_on()
    starts_in = instance.starts_in or f"{first:%Y-%m}"
    shift = (int(starts_in[:4]) - first.year) * 12 + int(starts_in[5:7]) - first.month
    config = template.model_dump(mode="json")
    for phase in config["phases"]:
        phase["starts_on"] = add_months(date.fromisoformat(phase["starts_on"]), shift).isoformat()
        phase["ends_on"] = add_months(date.fromisoformat(phase["ends_on"]), shift).isoformat()
    for deadline in config["reporting_deadlines"]:
        deadline["due_on"] = add_months(date.fromisoformat(deadline["due_on"]), shift).isoformat()
    if config["monthly_report"]:
        config["monthly_report"]["from_month"] = _month_after(config["monthly_report"]["from_month"], shift)
    if config["review_month"]:
        config["review_month"] = _month_after(config["review_month"], shift)
    config["campaign_id"] = instance.campaign_id or f"{preset_id.rsplit('-', 1)[0]}-{starts_in[:4]}"
    try:
        return CampaignIn.model_validate(config)
    except ValueError as exc:  # e.g. a review month beyond the plausible range
        raise Invalid(
            f"the preset cannot start in this month: {str(exc).splitlines()[-1].strip()}", loc=["body", "starts_in"]
        ) from None


async def instantiate_preset(
    pg: asyncpg.Connection, preset_id: str, instance: PresetInstance, actor: Actor
) -> Campaign:
    """A new campaign from a shipped preset (409 if its id is taken)."""
    campaign = instance_of(preset_id, instance)
    stored = await _store(pg, campaign, replace=False)
    await audit_service.record(
        pg,
        entity="campaign",
        entity_id=stored.campaign_id,
        action="instantiate_preset",
        actor=actor,
        reason=f"preset {preset_id}",
        after=campaign.model_dump(mode="json"),
    )
    return stored


async def list_presets(*, cursor: str | None, limit: int) -> Page[CampaignIn]:
    (after,) = decode_cursor(cursor, [""])
    ids = sorted(i for i in PRESETS if i > after)
    items = [preset(i) for i in ids[:limit]]
    return Page[CampaignIn](items=items, next_cursor=encode_cursor([ids[limit - 1]]) if len(ids) > limit else None)


def in_self_correction(campaign: Campaign, day: date) -> bool:
    """Whether a registration cancelled on `day` was cancelled during the campaign's 自查自纠."""
    phase = campaign.phase("self_correction")
    return phase is not None and phase.starts_on <= day <= phase.ends_on


# --- the reports a campaign requires ------------------------------------------------------------------

REPORTS_PATH = "/api/v1/reports/campaigns"


def month_title(month: str) -> str:
    return f"{int(month[:4])}年{int(month[5:7])}月"


def monthly_period(campaign: CampaignIn, month: str, loc: list[str | int]) -> tuple[date, date, date]:
    """The first and last day of the month a monthly table covers and the day it is due (the `due_day` of
    the next month); 422 for a campaign that requires none, or a month before its first table."""
    if campaign.monthly_report is None:
        raise Invalid(f"campaign {campaign.campaign_id} requires no monthly report", loc=["query", "campaign_id"])
    starts_on = date.fromisoformat(month + "-01")
    next_month = add_months(starts_on, 1)
    # "from 2019-03, by the 2nd of each month, last month's table": from_month is the first month a
    # table is due, covering the month before it.
    if f"{next_month:%Y-%m}" < campaign.monthly_report.from_month:
        raise Invalid(
            f"monthly tables of {campaign.campaign_id} are due from {campaign.monthly_report.from_month} "
            "(covering the month before)",
            loc=loc,
        )
    return starts_on, next_month - timedelta(days=1), next_month.replace(day=campaign.monthly_report.due_day)


def reports(campaign: CampaignIn) -> list[CampaignReport]:
    """The campaign's reports: each reporting deadline (a summary table of the phases it covers, up to the
    day it is due), then the monthly tables, from the first due to the one covering the campaign's last month."""
    found = []
    province = region_full_name(campaign.region_code)
    for number, deadline in enumerate(campaign.reporting_deadlines, start=1):
        report_id = deadline.code or f"deadline-{number}"
        covered = [p for p in campaign.phases if not deadline.phases or p.code in deadline.phases]
        starts_on = min(p.starts_on for p in covered)
        ends_on = min(max(p.ends_on for p in covered), deadline.due_on)
        found.append(
            CampaignReport(
                report_id=report_id,
                kind="deadline",
                what=deadline.what,
                title=f"{province}{campaign.table_title}（{starts_on} 至 {ends_on}）",
                period=ReportPeriod(starts_on=starts_on, ends_on=ends_on),
                due_on=deadline.due_on,
                to=deadline.to,
                path=f"{REPORTS_PATH}/{campaign.campaign_id}/{report_id}",
            )
        )
    if campaign.monthly_report is not None:
        month = _month_after(campaign.monthly_report.from_month, -1)
        last = f"{campaign.ends_on():%Y-%m}"
        while month <= last:
            starts_on, ends_on, due_on = monthly_period(campaign, month, ["path", "report_id"])
            found.append(
                CampaignReport(
                    report_id=f"monthly-{month}",
                    kind="monthly",
                    what=campaign.monthly_report.what,
                    title=f"{province}{month_title(month)}{campaign.table_title}",
                    period=ReportPeriod(starts_on=starts_on, ends_on=ends_on),
                    due_on=due_on,
                    to=campaign.monthly_report.to,
                    path=f"{REPORTS_PATH}/{campaign.campaign_id}/monthly-{month}",
                )
            )
            month = _month_after(month, 1)
    return found


def report(campaign: CampaignIn, report_id: str) -> CampaignReport:
    """One of the campaign's reports (a monthly table of any month from the first due, even past its end)."""
    for found in reports(campaign):
        if found.report_id == report_id:
            return found
    if report_id.startswith("monthly-") and campaign.monthly_report is not None:
        month = report_id.removeprefix("monthly-")
        if (
            len(month) == 7
            and month[:4].isdigit()
            and month[4] == "-"
            and month[5:].isdigit()
            and 1 <= int(month[5:]) <= 12
        ):
            starts_on, ends_on, due_on = monthly_period(campaign, month, ["path", "report_id"])
            return CampaignReport(
                report_id=report_id,
                kind="monthly",
                what=campaign.monthly_report.what,
                title=f"{region_full_name(campaign.region_code)}{month_title(month)}{campaign.table_title}",
                period=ReportPeriod(starts_on=starts_on, ends_on=ends_on),
                due_on=due_on,
                to=campaign.monthly_report.to,
                path=f"{REPORTS_PATH}/{campaign.campaign_id}/{report_id}",
            )
    names = ", ".join(r.report_id for r in reports(campaign)) or "none"
    raise NotFound(f"the campaign requires no such report; its reports: {names}", loc=["path", "report_id"])


def page_of_reports(campaign: CampaignIn, *, cursor: str | None, limit: int) -> Page[CampaignReport]:
    """The campaign's reports in their order, paged (the cursor is the position after the last given)."""
    (after,) = decode_cursor(cursor, [0])
    every = reports(campaign)
    items = every[after : after + limit]
    more = after + limit < len(every)
    return Page[CampaignReport](items=items, next_cursor=encode_cursor([after + limit]) if more else None)
