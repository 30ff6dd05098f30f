"""Report routes: the summary table (处理情况汇总表), the per-person detail list, the monthly table, and the
reports each campaign requires; each as JSON, CSV or .xlsx (`format`), region-scoped, titled with the
region and the period."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from case_svc import examples
from case_svc.campaigns import service as campaign_service
from case_svc.campaigns.schemas import Campaign, CampaignReport
from case_svc.cases.service import today
from case_svc.deps import CampaignId, PersonalDataDep
from case_svc.downloads import content_disposition
from case_svc.reports import freeze, render
from case_svc.reports import service as report_service
from case_svc.reports.service import DETAIL_TITLE, SUMMARY_COLUMNS, SUMMARY_TITLE, Period
from kernel.deps import DbConnection, DbTransaction, RegionCode, RegionScopeDep
from kernel.errors import Invalid
from kernel.paging import Cursor, Limit, Page
from kernel.regions import region_full_name, region_prefix
from kernel.scope import EVERYWHERE
from kernel.values import PlausibleMonth

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

Format = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv (UTF-8 with BOM) or xlsx")]
From = Annotated[date, Query(alias="from", description="first day of the period")]
To = Annotated[date, Query(alias="to", description="last day of the period")]
Month = Annotated[PlausibleMonth, Query(description="the month the table covers")]
ReportId = Annotated[
    str,
    Path(
        pattern=r"^[a-z][a-z0-9-]{1,39}$",
        description="one of the campaign's reports (GET /api/v1/reports/campaigns/{campaign_id}): a reporting "
        "deadline's code, or monthly-YYYY-MM",
        examples=["monthly-2019-02"],
    ),
]


def _table_responses(example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The API description of a table route: JSON, CSV or .xlsx, each with its example."""
    return {
        200: {
            "description": "the table: JSON, or with `format` a CSV (UTF-8 with BOM) or .xlsx download",
            "content": {
                "application/json": {"example": example},
                "text/csv": {"schema": {"type": "string"}, "example": examples.CSV_EXAMPLE},
                render.XLSX_MEDIA_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    "example": examples.XLSX_EXAMPLE,
                },
            },
        }
    }


def _download(content: bytes, media_type: str, filename: str) -> Response:
    disposition = content_disposition(filename, fallback="report")
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, date | datetime) else value


def _respond(
    doc: dict[str, Any], fmt: str, columns: list[tuple[str, str]], stem: str, subtitle: str | None = None
) -> Response:
    """A table as JSON (`doc` as it is), or as a CSV or .xlsx download whose first row is its title."""
    if fmt == "json":
        return JSONResponse(_jsonable(doc))
    period = doc["period"]
    subtitle = subtitle or f"统计期间：{period['from']} 至 {period['to']}"
    if doc.get("frozen_at"):
        subtitle += f"（{_jsonable(doc['frozen_at'])[:10]}月末冻结）"
    totals = doc.get("totals")
    if fmt == "csv":
        content = render.csv_bytes(columns, doc["rows"], totals, title=doc["title"])
        return _download(content, render.CSV_MEDIA_TYPE, f"{stem}.csv")
    content = render.xlsx(doc["title"], subtitle, columns, doc["rows"], totals)
    return _download(content, render.XLSX_MEDIA_TYPE, f"{stem}.xlsx")


@router.get(
    "/summary",
    summary="处理情况汇总表: per region one level down, with totals, for a period",
    responses=_table_responses(examples.SUMMARY_TABLE),
)
async def summary(
    pg: DbTransaction,
    scope: RegionScopeDep,
    starts_on: From,
    ends_on: To,
    region_code: RegionCode = EVERYWHERE,
    format: Format = "json",
) -> Response:
    period = Period.checked(starts_on, ends_on)
    title = SUMMARY_TITLE + report_service.period_title(period)
    table = await freeze.frozen_or_live(
        pg,
        kind="summary",
        patterns=scope.within(region_code),
        period=period,
        title=title,
        today=today(),
        count=lambda: report_service.table(pg, scope, region_code, period, title),
    )
    return _respond(table, format, SUMMARY_COLUMNS, f"处理情况汇总表-{table['region_code']}-{starts_on}-{ends_on}")


@router.get(
    "/detail",
    summary="The per-person detail list of cases opened or decided in a period (without names and masked IDs "
    "for the dashboard role)",
    responses=_table_responses(examples.DETAIL_TABLE),
)
async def detail(
    pg: DbConnection,
    scope: RegionScopeDep,
    personal: PersonalDataDep,
    starts_on: From,
    ends_on: To,
    region_code: RegionCode = EVERYWHERE,
    format: Format = "json",
) -> Response:
    period = Period.checked(starts_on, ends_on)
    patterns = scope.within(region_code)
    region = report_service.covered_region(region_code, patterns)
    name = region_full_name(region, ends_on.year)
    doc = {
        "title": f"{name}{DETAIL_TITLE}{report_service.period_title(period)}",
        "region_code": region,
        "region_name": name,
        "period": {"from": starts_on, "to": ends_on},
        "rows": await report_service.detail(pg, patterns, period, personal=personal),
    }
    columns = report_service.detail_columns(personal)
    return _respond(doc, format, columns, f"处理情况明细表-{region}-{starts_on}-{ends_on}")


def _campaign_region(campaign: Campaign, region_code: str | None) -> str:
    """The region a campaign's table is for: the campaign's province, or a region under it (422 elsewhere)."""
    if region_code is None:
        return campaign.region_code
    if not region_code.startswith(region_prefix(campaign.region_code)):
        raise Invalid(
            f"campaign {campaign.campaign_id} is {region_full_name(campaign.region_code)}'s "
            f"({campaign.region_code}): its tables are of that province or a region under it",
            loc=["query", "region_code"],
        )
    return region_code


async def _campaign_table(
    pg: DbTransaction, scope: RegionScopeDep, campaign: Campaign, report: CampaignReport, region_code: str | None
) -> dict[str, Any]:
    period = Period.checked(report.period.starts_on, report.period.ends_on)
    region = _campaign_region(campaign, region_code)
    if report.kind == "monthly":
        month = report.report_id.removeprefix("monthly-")
        title = f"{campaign_service.month_title(month)}{campaign.table_title}"
        extra: dict[str, Any] = {"month": month}
    else:
        title = campaign.table_title + report_service.period_title(period)
        extra = {"report_id": report.report_id, "what": report.what}
    table = await freeze.frozen_or_live(
        pg,
        kind=f"campaign:{campaign.campaign_id}",
        patterns=scope.within(region),
        period=period,
        title=title,
        today=today(),
        count=lambda: report_service.table(pg, scope, region, period, title),
    )
    return table | {"campaign_id": campaign.campaign_id, "due_on": report.due_on, "to": report.to} | extra


def _campaign_subtitle(report: CampaignReport) -> str:
    receiver = f"报{report.to}" if report.to else "报送"
    return f"统计期间：{report.period.starts_on} 至 {report.period.ends_on}；{report.what}，{report.due_on}前{receiver}"


@router.get(
    "/monthly",
    summary="The monthly table of a campaign that requires one (e.g. Heilongjiang, from 2019-03)",
    responses=_table_responses(examples.MONTHLY_TABLE),
)
async def monthly(
    pg: DbTransaction,
    scope: RegionScopeDep,
    campaign_id: Annotated[str, Query(max_length=32, description="the campaign, e.g. HLJ-2018")],
    month: Month,
    region_code: Annotated[
        str | None,
        Query(pattern=r"^\d{6}$", description="a region of the campaign's province; the province when absent"),
    ] = None,
    format: Format = "json",
) -> Response:
    campaign = await campaign_service.visible_campaign(pg, campaign_id, scope, ["query", "campaign_id"])
    campaign_service.monthly_period(campaign, month, ["query", "month"])
    report = campaign_service.report(campaign, f"monthly-{month}")
    table = await _campaign_table(pg, scope, campaign, report, region_code)
    stem = f"月报-{campaign.campaign_id}-{table['region_code']}-{month}"
    return _respond(table, format, SUMMARY_COLUMNS, stem, _campaign_subtitle(report))


@router.get(
    "/campaigns/{campaign_id}",
    response_model=Page[CampaignReport],
    summary="The reports a campaign requires: its reporting deadlines and monthly tables, each with its period",
)
async def campaign_reports(
    campaign_id: CampaignId, pg: DbConnection, scope: RegionScopeDep, cursor: Cursor = None, limit: Limit = 100
) -> Page[CampaignReport]:
    campaign = await campaign_service.visible_campaign(pg, campaign_id, scope, ["path", "campaign_id"])
    return campaign_service.page_of_reports(campaign, cursor=cursor, limit=limit)


@router.get(
    "/campaigns/{campaign_id}/{report_id}",
    summary="One of a campaign's reports, for its province or a region under it",
    responses=_table_responses(examples.MONTHLY_TABLE),
)
async def campaign_report(
    campaign_id: CampaignId,
    report_id: ReportId,
    pg: DbTransaction,
    scope: RegionScopeDep,
    region_code: Annotated[
        str | None,
        Query(pattern=r"^\d{6}$", description="a region of the campaign's province; the province when absent"),
    ] = None,
    format: Format = "json",
) -> Response:
    campaign = await campaign_service.visible_campaign(pg, campaign_id, scope, ["path", "campaign_id"])
    report = campaign_service.report(campaign, report_id)
    table = await _campaign_table(pg, scope, campaign, report, region_code)
    stem = f"{report.what}-{campaign.campaign_id}-{table['region_code']}-{report_id}"
    return _respond(table, format, SUMMARY_COLUMNS, stem, _campaign_subtitle(report))
