"""matcher-svc's HTTP routes: findings, a person's consolidated view, progress, review month, sweeps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from kernel.db import driver_connection
from kernel.deps import RegionScopeDep, RuntimeDep
from kernel.errors import Forbidden, NotFound
from kernel.kafka import unconsumed_events
from kernel.paging import Cursor, Limit, Page, decode_cursor, encode_cursor
from kernel.service import Runtime
from kernel.upstream import pending_upstream
from kernel.values import MONTH_PATTERN
from matcher_svc import projection, sweeps
from matcher_svc.domain import Rule
from matcher_svc.policy import current_policy, set_review_month

PREFIX = "/api/v1/matcher"
router = APIRouter(prefix=PREFIX, tags=["matcher"])

RegionCode = Annotated[str, Query(pattern=r"^\d{6}$", description="region and everything under it")]
Month = Annotated[str, Field(pattern=MONTH_PATTERN, examples=["2024-10"])]


class FindingOut(BaseModel):
    """A finding (integration contract)."""

    finding_id: str
    person_ref: str
    masked_id: str
    name: str
    region_code: str
    rule: str
    status: Literal["open", "exempted", "cleared"]
    exemption: str | None
    severity: str
    review_month: str
    evidence: dict[str, Any]
    rule_set_version: str
    first_seen: datetime
    updated_at: datetime


_FINDING = (
    "SELECT finding_id::text, person_key AS person_ref, masked_id, name, region_code, rule, status, exemption, "
    "severity, review_month, evidence::text, rule_set_version, first_seen, updated_at FROM findings "
)


def _finding(row: Any) -> FindingOut:
    return FindingOut.model_validate({**dict(row), "evidence": orjson.loads(row["evidence"])})


@router.get("/findings", response_model=Page[FindingOut], summary="Findings, filtered and cursor-paged")
async def findings(
    runtime: RuntimeDep,
    scope: RegionScopeDep,
    region_code: RegionCode = "000000",
    rule: Rule | None = None,
    status: Literal["open", "exempted", "cleared"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[FindingOut]:
    after = decode_cursor(cursor, ["", ""])
    regions = scope.patterns(region_code)  # the requested region within the caller's
    async with runtime.db.engine.connect() as conn:
        pg = await driver_connection(conn)
        rows = await pg.fetch(
            _FINDING + "WHERE region_code LIKE ANY($1::text[]) AND ($2::text IS NULL OR rule = $2) "
            "AND ($3::text IS NULL OR status = $3) AND (region_code, finding_id::text) > ($4, $5) "
            "ORDER BY region_code, finding_id::text LIMIT $6",
            regions,
            rule.value if rule else None,
            status,
            after[0],
            after[1],
            limit + 1,
        )
    items = [_finding(row) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].region_code, items[-1].finding_id]) if len(rows) > limit else None
    return Page[FindingOut](items=items, next_cursor=next_cursor)


class PersonView(BaseModel):
    person_ref: str
    masked_id: str
    name: str
    registrations: list[dict[str, Any]]
    contributions: list[dict[str, Any]]
    deposits: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    granted_exemptions: list[dict[str, Any]]
    findings: list[FindingOut]


@router.get("/persons/{person_ref}", response_model=PersonView, summary="A person's consolidated view")
async def person(
    person_ref: Annotated[str, Path(min_length=8, max_length=64)], runtime: RuntimeDep, scope: RegionScopeDep
) -> PersonView:
    """The whole view when any of the person's registrations, payments or findings is in the caller's regions."""
    async with runtime.db.engine.connect() as conn:
        pg = await driver_connection(conn)
        person = await pg.fetchrow("SELECT * FROM people WHERE person_key = $1", person_ref)
        visible = person is not None and (
            scope.prefixes is None
            or await pg.fetchval(
                "SELECT EXISTS (SELECT 1 FROM registrations WHERE person_key = $1 AND region_code LIKE ANY($2::text[])) "
                "OR EXISTS (SELECT 1 FROM paid_months WHERE person_key = $1 AND region_code LIKE ANY($2::text[])) "
                "OR EXISTS (SELECT 1 FROM findings WHERE person_key = $1 AND region_code LIKE ANY($2::text[]))",
                person_ref,
                scope.patterns(),
            )
        )
        if not visible:
            raise NotFound("no registered person with this reference", loc=["path", "person_ref"])
        registrations = await pg.fetch(
            "SELECT category, certificate_no, unit_name, unit_uscc, region_code, registered_on, status, batch_id "
            "FROM registrations WHERE person_key = $1 ORDER BY category, certificate_no",
            person_ref,
        )
        months = await pg.fetch(
            "SELECT source, period, unit_uscc, unit_name, region_code, batch_id, insurance_types FROM paid_months "
            "WHERE person_key = $1 ORDER BY period, unit_uscc",
            person_ref,
        )
        statuses = await pg.fetch("SELECT status, since FROM person_statuses WHERE person_key = $1", person_ref)
        granted = await pg.fetch(
            "SELECT exemption, rule, case_ref FROM granted_exemptions WHERE person_key = $1", person_ref
        )
        found = await pg.fetch(_FINDING + "WHERE person_key = $1 ORDER BY rule", person_ref)

    def plain(rows: list, drop: str | None = None) -> list[dict[str, Any]]:
        return [{k: v for k, v in dict(row).items() if k != drop} for row in rows]

    return PersonView(
        person_ref=person_ref,
        masked_id=person["masked_id"],
        name=person["name"],
        registrations=plain(registrations),
        contributions=plain([m for m in months if m["source"] == "insurance"], "source"),
        deposits=plain([m for m in months if m["source"] == "fund"], "source"),
        statuses=plain(statuses),
        granted_exemptions=plain(granted),
        findings=[_finding(row) for row in found],
    )


# --- progress ----------------------------------------------------------------------------------


class Progress(BaseModel):
    settled: bool = Field(
        description="everything the upstream services accepted is published, consumed and evaluated, "
        "and no sweep is running: the findings hold for the data accepted so far"
    )
    upstream_unpublished: dict[str, int | None] = Field(
        description="per upstream service: outbox entries accepted but not yet published (null: did not answer)"
    )
    unconsumed_events: int = Field(description="events on the bus the matcher has not applied yet")
    awaiting_evaluation: int = Field(description="people whose inputs changed and who wait to be evaluated")
    running_sweeps: int
    findings: dict[str, int]
    review_month: str


@router.get("/progress", response_model=Progress, summary="Whether everything accepted so far is matched")
async def progress(runtime: RuntimeDep) -> Progress:
    """Checked in the order data flows (upstream outboxes, then the bus, then the evaluation queue),
    so "settled" covers everything the upstream services had accepted when it was asked."""
    upstream = await pending_upstream(runtime.http, runtime.settings.upstreams)
    unconsumed = await unconsumed_events(runtime.settings, runtime.consumers[0].group_id, projection.TOPICS_CONSUMED)
    async with runtime.db.engine.connect() as conn:
        pg = await driver_connection(conn)
        waiting = await pg.fetchval("SELECT count(*) FROM pending_evaluations")
        running = await pg.fetchval("SELECT count(*) FROM sweeps WHERE status = 'running'")
        counts = {
            row["status"]: row["n"]
            for row in await pg.fetch("SELECT status, count(*) AS n FROM findings GROUP BY status")
        }
        policy = await current_policy(pg, runtime.settings)  # type: ignore[arg-type]
    return Progress(
        settled=all(count == 0 for count in upstream.values()) and unconsumed == 0 and waiting == 0 and running == 0,
        upstream_unpublished=upstream,
        unconsumed_events=unconsumed,
        awaiting_evaluation=waiting,
        running_sweeps=running,
        findings=counts,
        review_month=policy.review_month,
    )


# --- review month and sweeps -------------------------------------------------------------------


class Sweep(BaseModel):
    sweep_id: str
    region_code: str
    reason: str
    status: Literal["running", "done", "failed"]
    total: int
    done: int
    started_at: datetime
    finished_at: datetime | None


class SweepRequest(BaseModel):
    region_code: str = Field("000000", pattern=r"^\d{6}$", description="000000: everyone")


class ReviewMonth(BaseModel):
    review_month: Month


_SWEEP = "SELECT sweep_id::text, region_code, reason, status, total, done, started_at, finished_at FROM sweeps "


async def _sweep(runtime: Runtime, sweep_id: uuid.UUID) -> Sweep:
    async with runtime.db.engine.connect() as conn:
        row = await (await driver_connection(conn)).fetchrow(_SWEEP + "WHERE sweep_id = $1", sweep_id)
    if row is None:
        raise NotFound("no sweep with this id", loc=["path", "sweep_id"])
    return Sweep.model_validate(dict(row))


@router.post("/sweeps", response_model=Sweep, status_code=202, summary="Re-evaluate a region now")
async def sweep(request: SweepRequest, runtime: RuntimeDep, scope: RegionScopeDep) -> Sweep:
    if not scope.allows(request.region_code):  # 000000 (everyone) is allowed to an unrestricted caller only
        raise Forbidden("the region is outside the caller's regions", loc=["body", "region_code"])
    return await _sweep(runtime, await sweeps.start_sweep(runtime, request.region_code, "requested"))


@router.get("/sweeps/{sweep_id}", response_model=Sweep, summary="A sweep's progress")
async def sweep_progress(sweep_id: uuid.UUID, runtime: RuntimeDep, scope: RegionScopeDep) -> Sweep:
    found = await _sweep(runtime, sweep_id)
    scope.require(found.region_code, "sweep", ["path", "sweep_id"])
    return found


@router.put("/review-month", response_model=Sweep, status_code=202, summary="Set the campaign's review month")
async def review_month(request: ReviewMonth, runtime: RuntimeDep, scope: RegionScopeDep) -> Sweep:
    """Findings are re-evaluated for the new month by a sweep of everyone (its progress is returned)."""
    if not scope.covers_provinces():
        raise Forbidden("the review month is the province's: only a province-wide client may set it")
    async with runtime.db.transaction() as conn:
        await set_review_month(await driver_connection(conn), request.review_month)
    return await _sweep(runtime, await sweeps.start_sweep(runtime, "000000", f"review month {request.review_month}"))
