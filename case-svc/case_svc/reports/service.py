"""The campaign's reports (DOMAIN §7 item 6): the per-region summary table (处理情况汇总表) for a period,
the per-person detail list, and the monthly table of campaigns that require one.

What "in the period" means, per column: people on the register by its end (people checked),
findings first seen in it (leads by rule, which leave out findings that fired and cleared before
anyone handled them), cases opened in it (立案数), cases decided in it (outcomes and sanctions),
complaints received / answered in it. A case withdrawn because its findings cleared before anyone
handled it is in no count and not in the detail list.

**People checked** (核查人数) counts the distinct people with an active registration in the region, as
case-svc holds the register from `registry.registrations` (case_svc.register), known by the period's
end: the matcher cross-checks every one of them, whether or not a finding came of it. A person
registered in two cities counts in each city's row and once in the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from case_svc.campaigns.presets import SUMMARY_TITLE
from case_svc.cases.workflow import STATUS_LABELS, CaseStatus
from case_svc.db import from_jsonb
from domain import cases, findings
from kernel.errors import Invalid
from kernel.regions import region_full_name, region_name, region_prefix
from kernel.scope import EVERYWHERE, RegionScope

# The matcher's rule codes (DOMAIN §6; contract) with the 问题类型 the table shows (domain.findings).
RULE_LABELS: dict[str, str] = {rule.value: label for rule, label in findings.RULE_LABELS.items()}

# (key, Chinese header) of the summary table, in column order.
SUMMARY_COLUMNS: list[tuple[str, str]] = [
    ("region_code", "地区代码"),
    ("region_name", "地区"),
    ("people_checked", "核查人数"),
    *[(f"rule_{code}", f"疑似：{label}") for code, label in RULE_LABELS.items()],
    ("cases_opened", "立案数"),
    ("not_guazheng", "不认定挂证"),
    ("self_corrected", "自查自纠整改"),
    ("confirmed", "认定挂证"),
    ("revoked", "撤销注册"),
    ("reported_to_ministry", "上报住建部"),
    ("units_notified", "通报单位"),
    ("blacklisted", "列入黑名单"),
    ("public_servants_referred", "机关事业单位人员移送"),
    ("hr_agencies_referred", "人力资源服务机构移交人社"),
    ("complaints_received", "受理投诉举报"),
    ("complaints_answered", "办结投诉举报"),
]
COUNT_KEYS = [key for key, _ in SUMMARY_COLUMNS if key not in ("region_code", "region_name")]

DETAIL_COLUMNS: list[tuple[str, str]] = [
    ("case_ref", "案件编号"),
    ("region_code", "地区代码"),
    ("region_name", "地区"),
    ("name", "姓名"),
    ("masked_id", "身份证号（脱敏）"),
    ("rules", "问题类型"),
    ("status", "办理状态"),
    ("outcome", "处理结果"),
    ("revoked", "撤销注册证书"),
    ("barred_until", "禁止申请至"),
    ("reported_to_ministry", "上报住建部证书"),
    ("fine", "罚款（元）"),
    ("units", "注册单位"),
    ("decided_on", "决定日期"),
    ("opened_on", "立案日期"),
]

# The detail list's columns that name the person: left out for a caller that sees no personal data.
PERSONAL_COLUMNS = ("name", "masked_id")
DETAIL_TITLE = SUMMARY_TITLE.replace("汇总表", "明细表")


def detail_columns(personal: bool) -> list[tuple[str, str]]:
    return DETAIL_COLUMNS if personal else [c for c in DETAIL_COLUMNS if c[0] not in PERSONAL_COLUMNS]


OUTCOME_LABELS: dict[str, str] = {outcome.value: label for outcome, label in cases.OUTCOME_LABELS.items()}


@dataclass(frozen=True)
class Period:
    starts_on: date
    ends_on: date

    @classmethod
    def checked(cls, starts_on: date, ends_on: date) -> Period:
        if ends_on < starts_on:
            raise Invalid("the period ends before it starts", loc=["query", "to"])
        return cls(starts_on, ends_on)


def group_length(region_prefix: str) -> int:
    """Rows one level below the requested region: provinces → cities → counties."""
    return {0: 2, 2: 4}.get(len(region_prefix), 6)


def _summary_sql(group: str) -> str:
    # A lead by rule: a finding still open or exempted, or one that cleared in a case someone handled
    # (a finding that fired and cleared while the uploads were still arriving is no lead).
    rules = ", ".join(
        f"count(DISTINCT f.person_ref) FILTER (WHERE f.rule = '{code}' AND (f.status <> 'cleared' "
        f"OR (c.case_id IS NOT NULL AND NOT (c.status = 'closed' AND c.outcome IS NULL)))) AS \"rule_{code}\""
        for code in RULE_LABELS
    )
    return f"""
    WITH r AS (
        SELECT {group} AS g, count(DISTINCT person_ref) AS people_checked FROM registrations
        WHERE region_code LIKE ANY($1) AND status = 'active' AND first_seen::date <= $3 GROUP BY 1
    ), f AS (
        SELECT {group.replace("region_code", "f.region_code")} AS g, {rules}
        FROM findings f LEFT JOIN cases c USING (case_id)
        WHERE f.region_code LIKE ANY($1) AND f.first_seen::date BETWEEN $2 AND $3 GROUP BY 1
    ), o AS (
        SELECT {group} AS g, count(*) FILTER (WHERE NOT (status = 'closed' AND outcome IS NULL)) AS cases_opened FROM cases
        WHERE region_code LIKE ANY($1) AND opened_at::date BETWEEN $2 AND $3 GROUP BY 1
    ), d AS (
        SELECT {group} AS g,
            count(*) FILTER (WHERE outcome = 'not_guazheng') AS not_guazheng,
            count(*) FILTER (WHERE outcome = 'self_corrected') AS self_corrected,
            count(*) FILTER (WHERE outcome = 'confirmed') AS confirmed,
            count(*) FILTER (WHERE jsonb_array_length(coalesce(sanctions->'revocations', '[]')) > 0) AS revoked,
            count(*) FILTER (WHERE jsonb_array_length(coalesce(sanctions->'ministry_reports', '[]')) > 0) AS reported_to_ministry,
            count(*) FILTER (WHERE (sanctions->'person'->>'blacklist')::boolean) AS blacklisted,
            count(*) FILTER (WHERE jsonb_array_length(coalesce(sanctions->'employer_notices', '[]')) > 0) AS public_servants_referred,
            count(*) FILTER (WHERE jsonb_array_length(coalesce(sanctions->'hr_agency_referrals', '[]')) > 0) AS hr_agencies_referred
        FROM cases WHERE region_code LIKE ANY($1) AND decided_on BETWEEN $2 AND $3 GROUP BY 1
    ), u AS (
        SELECT {group} AS g, count(DISTINCT coalesce(unit->>'unit_uscc', unit->>'unit_name')) AS units_notified
        FROM cases, jsonb_array_elements(coalesce(sanctions->'units', '[]')) AS unit
        WHERE region_code LIKE ANY($1) AND decided_on BETWEEN $2 AND $3 AND (unit->>'notice')::boolean GROUP BY 1
    ), c AS (
        SELECT {group} AS g,
            count(*) FILTER (WHERE received_on BETWEEN $2 AND $3) AS complaints_received,
            count(*) FILTER (WHERE answered_on BETWEEN $2 AND $3) AS complaints_answered
        FROM complaints WHERE region_code LIKE ANY($1) GROUP BY 1
    ), groups AS (
        SELECT g FROM r UNION SELECT g FROM f UNION SELECT g FROM o UNION SELECT g FROM d UNION SELECT g FROM c
    )
    SELECT groups.g, {", ".join(f'"{key}"' for key in COUNT_KEYS)} FROM groups
    LEFT JOIN r USING (g) LEFT JOIN f USING (g) LEFT JOIN o USING (g) LEFT JOIN d USING (g) LEFT JOIN u USING (g) LEFT JOIN c USING (g)
    ORDER BY groups.g
    """


def _row(record: Any, region_code: str | None, year: int) -> dict[str, Any]:
    row: dict[str, Any] = {"region_code": region_code, "region_name": region_name(region_code or "", year) or ""}
    for key in COUNT_KEYS:
        row[key] = int(record[key] or 0) if record is not None else 0
    return row


async def summary(pg: asyncpg.Connection, patterns: list[str], region_prefix: str, period: Period) -> dict[str, Any]:
    """The summary table: one row per region one level down, and a totals row (合计) counted over the
    whole region (a person with findings in two cities is one person in the total)."""
    length = group_length(region_prefix)
    group = f"rpad(substr(region_code, 1, {length}), 6, '0')"
    year = period.ends_on.year
    records = await pg.fetch(_summary_sql(group), patterns, period.starts_on, period.ends_on)
    rows = [_row(r, r["g"], year) for r in records]
    total_records = await pg.fetch(_summary_sql("'total'"), patterns, period.starts_on, period.ends_on)
    totals = _row(total_records[0] if total_records else None, None, year) | {"region_code": "合计", "region_name": ""}
    return {"period": {"from": period.starts_on, "to": period.ends_on}, "rows": rows, "totals": totals}


async def detail(
    pg: asyncpg.Connection, patterns: list[str], period: Period, *, personal: bool = True
) -> list[dict[str, Any]]:
    """One row per case opened or decided in the period (the per-person list officials check against);
    without the person's name and masked ID for a caller that sees no personal data (`personal`)."""
    records = await pg.fetch(
        "SELECT c.case_ref, c.region_code, c.name, c.masked_id, c.status, c.outcome, c.sanctions, c.decided_on, "
        "c.opened_at::date AS opened_on, ARRAY(SELECT DISTINCT rule FROM findings f WHERE f.case_id = c.case_id ORDER BY 1) AS rules "
        "FROM cases c WHERE c.region_code LIKE ANY($1) AND NOT (c.status = 'closed' AND c.outcome IS NULL) AND (c.opened_at::date BETWEEN $2 AND $3 OR c.decided_on BETWEEN $2 AND $3) "
        "ORDER BY c.region_code, c.case_ref",
        patterns,
        period.starts_on,
        period.ends_on,
    )
    rows = []
    for record in records:
        plan = from_jsonb(record["sanctions"]) or {}
        revocations = plan.get("revocations", [])
        fine = (plan.get("person") or {}).get("fine")
        row = {
            "case_ref": record["case_ref"],
            "region_code": record["region_code"],
            "region_name": region_name(record["region_code"], period.ends_on.year) or "",
            "name": record["name"] or "",
            "masked_id": record["masked_id"] or "",
            "rules": "、".join(RULE_LABELS.get(r, r) for r in record["rules"]),
            "status": STATUS_LABELS[CaseStatus(record["status"])],
            "outcome": OUTCOME_LABELS.get(record["outcome"] or "", ""),
            "revoked": "、".join(r["certificate_no"] for r in revocations),
            "barred_until": max((r["barred_until"] for r in revocations), default=""),
            "reported_to_ministry": "、".join(r["certificate_no"] for r in plan.get("ministry_reports", [])),
            "fine": fine["amount"] if fine else "",
            "units": "、".join(u["unit_name"] for u in plan.get("units", [])),
            "decided_on": record["decided_on"].isoformat() if record["decided_on"] else "",
            "opened_on": record["opened_on"].isoformat(),
        }
        rows.append(row if personal else {k: v for k, v in row.items() if k not in PERSONAL_COLUMNS})
    return rows


def covered_region(region_code: str, patterns: list[str]) -> str:
    """The region a table covers: the one asked for or, when the caller's regions narrow it to one region
    under it (a city officer asking for the province), that one."""
    if len(patterns) == 1 and (prefix := patterns[0].rstrip("%")) and len(prefix) > len(_prefix(region_code)):
        return prefix.ljust(6, "0")
    return region_code


def _prefix(region_code: str) -> str:
    return "" if region_code == EVERYWHERE else region_prefix(region_code)


def period_title(period: Period) -> str:
    return f"（{period.starts_on} 至 {period.ends_on}）"


async def table(
    pg: asyncpg.Connection, scope: RegionScope, region_code: str, period: Period, title: str
) -> dict[str, Any]:
    """The summary table of a region (as far as the caller's regions reach) for a period: its title names
    the region and ends with `title`, e.g. 内蒙古自治区呼和浩特市 + 工程建设领域…处理情况汇总表（…）."""
    patterns = scope.within(region_code)
    region = covered_region(region_code, patterns)
    found = await summary(pg, patterns, _prefix(region), period)
    name = region_full_name(region, period.ends_on.year)
    return {"title": f"{name}{title}", "region_code": region, "region_name": name} | found
