"""Report routes: the summary table (处理情况汇总表), the per-person detail list, the monthly table;
each as JSON, CSV or .xlsx (`format`), region-scoped."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from case_svc.campaigns import service as campaign_service
from case_svc.reports import render
from case_svc.reports import service as report_service
from case_svc.reports.service import DETAIL_COLUMNS, SUMMARY_COLUMNS, Period
from kernel.deps import DbConnection, RegionCode, RegionScopeDep
from kernel.regions import region_prefix
from kernel.scope import EVERYWHERE
from kernel.values import PlausibleMonth

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

Format = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv (UTF-8 with BOM) or xlsx")]
From = Annotated[date, Query(alias="from", description="first day of the period")]
To = Annotated[date, Query(alias="to", description="last day of the period")]
Month = Annotated[PlausibleMonth, Query(description="the month the table covers")]


def _download(content: bytes, media_type: str, filename: str) -> Response:
    # RFC 5987: the Chinese file name for browsers, an ASCII fallback for the rest.
    disposition = f"attachment; filename=\"{filename.encode('ascii', 'ignore').decode() or 'report'}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


def _summary_response(table: dict[str, Any], fmt: str, title: str, stem: str) -> Response:
    if fmt == "json":
        return JSONResponse(_jsonable(table))
    subtitle = f"统计期间：{table['period']['from']} 至 {table['period']['to']}"
    if fmt == "csv":
        return _download(
            render.csv_bytes(SUMMARY_COLUMNS, table["rows"], table["totals"]), render.CSV_MEDIA_TYPE, f"{stem}.csv"
        )
    content = render.xlsx(title, subtitle, SUMMARY_COLUMNS, table["rows"], table["totals"])
    return _download(content, render.XLSX_MEDIA_TYPE, f"{stem}.xlsx")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


SUMMARY_TITLE = "工程建设领域专业技术人员“挂证”等违法违规行为处理情况汇总表"


@router.get("/summary", summary="处理情况汇总表: per region one level down, with totals, for a period")
async def summary(
    pg: DbConnection,
    scope: RegionScopeDep,
    starts_on: From,
    ends_on: To,
    region_code: RegionCode = EVERYWHERE,
    format: Format = "json",
) -> Response:
    period = Period.checked(starts_on, ends_on)
    table = await report_service.summary(
        pg, scope.patterns(region_code), "" if region_code == EVERYWHERE else region_prefix(region_code), period
    )
    table["region_code"] = region_code
    return _summary_response(table, format, SUMMARY_TITLE, f"处理情况汇总表-{region_code}-{starts_on}-{ends_on}")


@router.get("/detail", summary="The per-person detail list of cases opened or decided in a period")
async def detail(
    pg: DbConnection,
    scope: RegionScopeDep,
    starts_on: From,
    ends_on: To,
    region_code: RegionCode = EVERYWHERE,
    format: Format = "json",
) -> Response:
    period = Period.checked(starts_on, ends_on)
    rows = await report_service.detail(pg, scope.patterns(region_code), period)
    stem = f"处理情况明细表-{region_code}-{starts_on}-{ends_on}"
    if format == "json":
        return JSONResponse(
            {"region_code": region_code, "period": {"from": str(starts_on), "to": str(ends_on)}, "rows": rows}
        )
    if format == "csv":
        return _download(render.csv_bytes(DETAIL_COLUMNS, rows), render.CSV_MEDIA_TYPE, f"{stem}.csv")
    content = render.xlsx("处理情况明细表", f"统计期间：{starts_on} 至 {ends_on}", DETAIL_COLUMNS, rows)
    return _download(content, render.XLSX_MEDIA_TYPE, f"{stem}.xlsx")


@router.get("/monthly", summary="The monthly table of a campaign that requires one (e.g. Heilongjiang, from 2019-03)")
async def monthly(
    pg: DbConnection,
    scope: RegionScopeDep,
    campaign_id: str,
    month: Month,
    region_code: RegionCode | None = None,
    format: Format = "json",
) -> Response:
    campaign = await campaign_service.visible_campaign(pg, campaign_id, scope, ["query", "campaign_id"])
    table = await report_service.monthly(pg, campaign, month, scope, region_code)
    title = f"{month} {campaign.monthly_report.what if campaign.monthly_report else ''}"
    return _summary_response(table, format, title, f"月报-{campaign_id}-{table['region_code']}-{month}")
