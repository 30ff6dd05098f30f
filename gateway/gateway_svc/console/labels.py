"""The Chinese words the console shows for the API's codes (rules, statuses, exemptions, case stages, feeds) —
the suite's tables from domain.*, not copies — and region names next to codes (kernel.regions, GB/T 2260)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import cases, categories, findings, records
from kernel.regions import region_full_name, region_name


def _by_code(table: Mapping[Any, str]) -> dict[str, str]:
    return {str(code): words for code, words in table.items()}


# The suite's code tables, each from its one place (domain.*; the same the labels endpoint, GET /api/v1/labels,
# hands to dashboards); only the words of the console's own (severities, how a unit name resolved, feeds) are here.
RULES = _by_code(findings.RULE_LABELS)
FINDING_STATUSES = _by_code(findings.FINDING_STATUS_LABELS)
EXEMPTIONS = _by_code(findings.EXEMPTION_LABELS)
CASE_STATUSES = _by_code(cases.STATUS_LABELS)
CATEGORIES = _by_code(categories.CATEGORY_LABELS)
REGISTRATION_STATUSES = _by_code(records.REGISTRATION_STATUS_LABELS)
SEVERITIES = {"high": "高", "medium": "中", "low": "低"}
RESOLVED_BY = {
    "uscc": "按统一社会信用代码",
    "name": "按单位名称",
    "former_name": "按曾用名",
    "head_office": "按总公司",
    None: "未能对应到单位目录",
}

# The feeds a bureau's person uploads to, by scope: (service, feed path, words).
FEEDS = {
    "feeds:registry": [("registry", "units", "单位信息"), ("registry", "registrations", "注册人员信息")],
    "feeds:insurance": [
        ("insurance", "contributions", "社保缴费记录"),
        ("insurance", "person-status", "参保人员状态"),
    ],
    "feeds:fund": [("fund", "deposits", "公积金缴存记录")],
}
SERVICE_NAMES = {"registry": "住建注册数据", "insurance": "社会保险", "fund": "住房公积金"}
ACCESS_ACTIONS = {"read": "查看", "reveal": "显示完整身份证号", "lookup": "按身份证号查找", "download": "下载名单",
                  "export": "导出"}  # fmt: skip
# An upload's batch as its receipt says (ingest.receipts).
BATCH_STATUSES = {
    "accepted": "全部接收",
    "partially_accepted": "部分接收",
    "rejected": "整批退回",
    "retracted": "已撤回",
}


def rule(code: str | None) -> str:
    return RULES.get(code or "", code or "")


def region(code: str | None) -> str:
    """150102 → 新城区 (the short name; the code alone when unknown)."""
    if not code:
        return ""
    return region_name(code) or code


def region_long(code: str | None) -> str:
    return region_full_name(code) if code else ""


FILTERS = {
    "rule": rule,
    "finding_status": lambda c: FINDING_STATUSES.get(c, c),
    "severity": lambda c: SEVERITIES.get(c, c),
    "exemption": lambda c: EXEMPTIONS.get(c, c) if c else "",
    "case_status": lambda c: CASE_STATUSES.get(c, c),
    "category": lambda c: CATEGORIES.get(c, c),
    "resolved_by": lambda c: RESOLVED_BY.get(c, c),
    "registration_status": lambda c: REGISTRATION_STATUSES.get(c, c),
    "region": region,
    "region_long": region_long,
    "access_action": lambda c: ACCESS_ACTIONS.get(c, c),
    "batch_status": lambda c: BATCH_STATUSES.get(c, c),
}
