"""Labels for dashboards: the Chinese (and English) words of the suite's codes, and the national division list.

`GET /api/v1/labels` answers every code table a dashboard shows — rules, exemptions, finding statuses, case
statuses, actions, levels and outcomes, registration categories and statuses, person statuses, insurance
types, unit kinds, feeds — read from the one place each lives in the code (domain.findings, domain.cases,
domain.categories, domain.records, domain.identifiers), never copied here. `GET /api/v1/labels/regions` is
the GB/T 2260 list the suite names regions by (kernel.regions: every province, city and county since 1981,
retired codes with their years).

Who may read them: any authenticated caller (a client's token or a person's session), whatever its scopes. They
hold nothing personal and nothing of a region's data, so no scope guards them; but like every route of the
gateway's but sign-in they need a caller, so they are counted against its rate limit and the one public
entrance stays closed to anonymous traffic (the region list is half a megabyte).

Both answers are static for a deployment: each carries a strong `ETag` (a digest of its body) and
`Cache-Control: private, max-age=86400`; `If-None-Match` with the current tag is answered 304 without a body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from functools import cache, lru_cache
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain import cases, categories, findings, identifiers, records
from gateway_svc.deps import GatewayDep, RuntimeDep, authenticate
from gateway_svc.tokens import Caller
from kernel import regions
from kernel.paging import Page
from kernel.scope import EVERYWHERE

PREFIX = "/api/v1/labels"
router = APIRouter(prefix=PREFIX, tags=["labels"])

CACHE_CONTROL = "private, max-age=86400"


class Label(BaseModel):
    code: str
    zh: str
    en: str | None = Field(None, description="null where the suite has no English label")


_EXAMPLE: dict[str, Any] = {
    "rules": [{"code": "SI_UNIT_MISMATCH", "zh": "社保单位与注册单位不一致", "en": "Social insurance paid by another unit than the registered one"}],
    "exemptions": [{"code": "RETIRED", "zh": "退休（含依法提前退休）", "en": "Retired (or lawfully retired early)"}],
    "finding_statuses": [{"code": "open", "zh": "待核查", "en": "Open"}],
    "case_statuses": [{"code": "awaiting_reply", "zh": "待反馈", "en": "Awaiting reply"}],
    "case_actions": [{"code": "county-review", "zh": "审查", "en": "County review"}],
    "case_levels": [{"code": "county", "zh": "县级", "en": "County"}],
    "case_outcomes": [{"code": "confirmed", "zh": "认定挂证", "en": "Certificate hanging confirmed"}],
    "registration_categories": [{"code": "constructor_2", "zh": "二级注册建造师", "en": "Registered constructor, grade 2"}],
    "registration_statuses": [{"code": "revoked", "zh": "撤销", "en": "Revoked"}],
    "person_statuses": [{"code": "retired", "zh": "退休", "en": "Retired"}],
    "insurance_types": [{"code": "01", "zh": "养老", "en": "Pension"}],
    "unit_kinds": [{"code": "hr_agency", "zh": "人力资源服务机构", "en": "HR agency"}],
    "feed_kinds": [{"code": "contributions", "zh": "社保缴费", "en": "Social-insurance contributions"}],
}  # fmt: skip


class Labels(BaseModel):
    """Each table lists its codes in the order the suite declares them."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    rules: list[Label] = Field(description="the rule catalog (问题类型); a finding's `rule`")
    exemptions: list[Label] = Field(description="a finding's `exemption`, a decision's granted exemption")
    finding_statuses: list[Label]
    case_statuses: list[Label] = Field(description="a case's `status` (its stage in the workflow)")
    case_actions: list[Label] = Field(description="a case's actions (the routes' names; `allowed_actions`)")
    case_levels: list[Label] = Field(description="the bureaus a case passes through, lowest first")
    case_outcomes: list[Label] = Field(description="a decision's `outcome`")
    registration_categories: list[Label] = Field(description="注册类别")
    registration_statuses: list[Label]
    person_statuses: list[Label] = Field(description="the insurance centre's person statuses (退休, 买断)")
    insurance_types: list[Label] = Field(description="险种, by the codes contributions carry")
    unit_kinds: list[Label]
    feed_kinds: list[Label] = Field(description="what each feed carries (the record kinds)")


def _table(zh: Mapping[Any, str], en: Mapping[Any, str] | None = None) -> list[Label]:
    return [Label(code=str(code), zh=label, en=(en or {}).get(code)) for code, label in zh.items()]


@cache
def label_tables() -> Labels:
    """Every table, from where it lives (the console shows the same words: use this, not a copy)."""
    return Labels(
        rules=_table(findings.RULE_LABELS, findings.RULE_LABELS_EN),
        exemptions=_table(findings.EXEMPTION_LABELS, findings.EXEMPTION_LABELS_EN),
        finding_statuses=_table(findings.FINDING_STATUS_LABELS, findings.FINDING_STATUS_LABELS_EN),
        case_statuses=_table(cases.STATUS_LABELS, cases.STATUS_LABELS_EN),
        case_actions=_table(cases.ACTION_LABELS, cases.ACTION_LABELS_EN),
        case_levels=_table(cases.LEVEL_LABELS, cases.LEVEL_LABELS_EN),
        case_outcomes=_table(cases.OUTCOME_LABELS, cases.OUTCOME_LABELS_EN),
        registration_categories=_table(categories.CATEGORY_LABELS, categories.CATEGORY_LABELS_EN),
        registration_statuses=_table(records.REGISTRATION_STATUS_LABELS, records.REGISTRATION_STATUS_LABELS_EN),
        person_statuses=_table(records.PERSON_STATUS_LABELS, records.PERSON_STATUS_LABELS_EN),
        insurance_types=_table(records.INSURANCE_TYPE_LABELS, records.INSURANCE_TYPE_LABELS_EN),
        unit_kinds=_table(identifiers.UNIT_KIND_LABELS, identifiers.UNIT_KIND_LABELS_EN),
        feed_kinds=_table(records.RECORD_KIND_LABELS, records.RECORD_KIND_LABELS_EN),
    )


class RegionLevel(StrEnum):
    province = "province"
    city = "city"
    county = "county"


class NewCode(BaseModel):
    code: str
    year: int | None = Field(description="when a part went to this code while the division stayed in use")


class Region(BaseModel):
    """One name a division code carried, with its years (the list states divisions as of 31 December)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "150105",
                    "name": "赛罕区",
                    "level": "county",
                    "parent": "150100",
                    "since": 2000,
                    "until": None,
                    "in_use": True,
                    "new_codes": [],
                },
                {
                    "code": "230702",
                    "name": "伊春区",
                    "level": "county",
                    "parent": "230700",
                    "since": 1983,
                    "until": 2019,
                    "in_use": False,
                    "new_codes": [{"code": "230717", "year": None}],
                },
            ]
        }
    )

    code: str
    name: str
    level: RegionLevel
    parent: str | None = Field(
        description="the province of a city; the city of a county, or its province for one under the province "
        "itself; null for a province"
    )
    since: int = Field(description="the first year of this name")
    until: int | None = Field(description="the year it was changed or retired; null while in use")
    in_use: bool
    new_codes: list[NewCode] = Field(description="the codes that took its territory over (or a part of it)")


def authenticated() -> object:
    """Any caller the gateway knows (a token or a session), whatever its scopes."""

    async def dependency(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> Caller:
        return await authenticate(request, runtime, gateway)

    return Depends(dependency)


def _static(request: Request, body: bytes) -> Response:
    """A static answer with its tag; 304 when the caller already holds it."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    sent = {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}
    if tag in sent or "*" in sent:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@cache
def _labels_body() -> bytes:
    return orjson.dumps(label_tables().model_dump(mode="json"))


_CACHED: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}}},
    304: {"description": "Not Modified: `If-None-Match` named the current `ETag`"},
}


@router.get("", response_model=Labels, summary="The labels of the suite's codes", responses=_CACHED)
async def labels(request: Request, _: Annotated[Caller, authenticated()]) -> Response:
    return _static(request, _labels_body())


@lru_cache(maxsize=512)  # the filters a dashboard uses; bounded, whatever callers send
def _regions_body(parent: str | None, code: str | None, include_historical: bool) -> bytes:
    items = [
        Region(
            code=d.code,
            name=d.name,
            level=RegionLevel(d.level),
            parent=d.parent,
            since=d.since,
            until=d.until,
            in_use=d.in_use,
            new_codes=[NewCode(code=n.code, year=n.year) for n in d.new_codes],
        )
        for d in regions.divisions()
        if (include_historical or d.in_use)
        and (code is None or d.code == code)
        and (parent is None or d.parent == (None if parent == EVERYWHERE else parent))
    ]
    return orjson.dumps(Page[Region](items=items, next_cursor=None).model_dump(mode="json"))


@router.get(
    "/regions",
    response_model=Page[Region],
    summary="The national division list (GB/T 2260), historical codes included",
    responses=_CACHED,
)
async def region_list(
    request: Request,
    _: Annotated[Caller, authenticated()],
    parent: Annotated[
        str | None,
        Query(pattern=r"^\d{6}$", description="the divisions right under this one; `000000` for the provinces"),
    ] = None,
    code: Annotated[str | None, Query(pattern=r"^\d{6}$", description="this code's names")] = None,
    include_historical: Annotated[
        bool, Query(description="also the names and codes no longer in use, each with its years")
    ] = False,
) -> Response:
    """Every province, city and county (one page: `next_cursor` is null), by code; a code that changed its
    name is listed once per name with `include_historical`. Region codes in the suite's answers are these."""
    return _static(request, _regions_body(parent, code, include_historical))
