"""What matcher-svc's routes read: findings, a person's consolidated view, progress and sweeps."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from aiokafka.errors import KafkaError

from kernel.consumer import unapplied_events
from kernel.kafka import unconsumed_events
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.scope import EVERYWHERE, RegionScope
from kernel.service import Runtime
from kernel.upstream import pending_upstream
from matcher_svc import projection
from matcher_svc.domain import Rule
from matcher_svc.policy import MatcherSettings, current_policy
from matcher_svc.schemas import FindingOut, FindingStatus, PersonView, Progress, Sweep, Unsettled

log = logging.getLogger(__name__)

# How long progress waits for the broker before it reports the bus unknown (a progress poll must answer).
BROKER_PROBE_SECONDS = 5.0

_FINDING = (
    "SELECT finding_id::text, person_key AS person_ref, masked_id, name, region_code, rule, status, exemption, "
    "severity, review_month, evidence::text, rule_set_version, first_seen, updated_at, registered_units::text, "
    "paying_units::text FROM findings "
)
_JSON_COLUMNS = ("evidence", "registered_units", "paying_units")


def _finding(row: asyncpg.Record) -> FindingOut:
    return FindingOut.model_validate({**dict(row), **{name: orjson.loads(row[name]) for name in _JSON_COLUMNS}})


@dataclass(frozen=True)
class FindingFilters:
    """What a findings list is narrowed to besides the region (None: not narrowed)."""

    rule: Rule | None = None
    status: FindingStatus | None = None
    unit_name_norm: str | None = None  # domain.identifiers.normalize_unit_name of the requested name
    unit_uscc: str | None = None
    person_name: str | None = None


async def findings_page(
    pg: asyncpg.Connection, regions: list[str], filters: FindingFilters, cursor: str | None, limit: int
) -> Page[FindingOut]:
    """Findings in `regions` (LIKE patterns), narrowed by `filters`, in (region, id) order, after the cursor's."""
    after = decode_cursor(cursor, ["", ""])
    conditions = ["region_code LIKE ANY($1::text[])", "(region_code, finding_id::text) > ($2, $3)"]
    values: list[object] = [regions, after[0], after[1]]
    # Only the filters given go into the statement, so each is planned with its index.
    for condition, value in (
        ("rule = ${}", filters.rule.value if filters.rule else None),
        ("status = ${}", filters.status),
        ("unit_names_norm @> ARRAY[${}::text]", filters.unit_name_norm),
        ("unit_usccs @> ARRAY[${}::text]", filters.unit_uscc),
        ("name = ${}", filters.person_name),
    ):
        if value is not None:
            values.append(value)
            conditions.append(condition.format(len(values)))
    rows = await pg.fetch(
        _FINDING + f"WHERE {' AND '.join(conditions)} ORDER BY region_code, finding_id::text LIMIT ${len(values) + 1}",
        *values,
        limit + 1,
    )
    items = [_finding(row) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].region_code, items[-1].finding_id]) if len(rows) > limit else None
    return Page[FindingOut](items=items, next_cursor=next_cursor)


async def person_view(pg: asyncpg.Connection, person_ref: str, scope: RegionScope) -> PersonView | None:
    """The whole view when any of the person's registrations, payments or findings is in the caller's
    regions; None when there is no such person or none of it is."""
    person = await pg.fetchrow("SELECT * FROM people WHERE person_key = $1", person_ref)
    visible = person is not None and (
        scope.prefixes is None
        or await pg.fetchval(
            "SELECT EXISTS (SELECT 1 FROM registrations WHERE person_key = $1 AND region_code LIKE ANY($2::text[])) "
            "OR EXISTS (SELECT 1 FROM person_payments, unnest(region_codes) AS region_code "
            "WHERE person_key = $1 AND region_code LIKE ANY($2::text[])) "
            "OR EXISTS (SELECT 1 FROM findings WHERE person_key = $1 AND region_code LIKE ANY($2::text[]))",
            person_ref,
            scope.patterns(),
        )
    )
    if not visible:
        return None
    registrations = await pg.fetch(
        "SELECT category, certificate_no, unit_name, unit_uscc, region_code, registered_on, status, batch_id "
        "FROM registrations WHERE person_key = $1 ORDER BY category, certificate_no",
        person_ref,
    )
    months = await pg.fetch(
        "SELECT p.source, m.period, m.unit_uscc, m.unit_name, m.region_code, m.batch_id, "
        "string_to_array(m.types, ',') AS insurance_types FROM person_payments p, "
        "unnest(p.periods, p.unit_usccs, p.unit_names, p.region_codes, p.batch_ids, p.insurance_types) "
        "AS m(period, unit_uscc, unit_name, region_code, batch_id, types) "
        "WHERE p.person_key = $1 ORDER BY m.period, m.unit_uscc, p.source",
        person_ref,
    )
    statuses = await pg.fetch("SELECT status, since FROM person_statuses WHERE person_key = $1", person_ref)
    granted = await pg.fetch(
        "SELECT exemption, rule, case_ref FROM granted_exemptions WHERE person_key = $1", person_ref
    )
    found = await pg.fetch(_FINDING + "WHERE person_key = $1 ORDER BY rule", person_ref)

    def plain(rows: list[asyncpg.Record], drop: str | None = None) -> list[dict[str, Any]]:
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


async def _unconsumed(runtime: Runtime[MatcherSettings]) -> int | None:
    """Events on the bus the matcher's consumer group has not applied; None when the broker does not
    answer in time (a lost broker is a state to report, not an error of the request).

    When this instance's members hold every partition, they count them themselves (one ListOffsets request,
    as the evaluation worker judges settled). Asking the broker about the group instead started three clients
    and fetched from every partition: about 100 ms of CPU (the broker's 42) and 360 ms a look, which a
    dashboard polling progress spent again at every poll."""
    if (unapplied := await unapplied_events(runtime.consumers)) is not None:
        return unapplied
    try:
        return await asyncio.wait_for(
            unconsumed_events(runtime.settings, runtime.consumers[0].group_id, projection.TOPICS_CONSUMED),
            BROKER_PROBE_SECONDS,
        )
    except (KafkaError, OSError, TimeoutError) as exc:
        log.info("progress could not ask the broker", extra={"error": type(exc).__name__})
        return None


async def progress(pg: asyncpg.Connection, runtime: Runtime[MatcherSettings], scope: RegionScope) -> Progress:
    """Probed in the order data flows: upstream outboxes, then the bus, then the evaluation queue.

    Counts of zero are not enough: a consumer that keeps failing (its topics gone with a restarted
    broker, say) finds nothing to apply on an empty bus, so its own state counts too."""
    upstream = await pending_upstream(runtime.http, runtime.settings.upstreams)
    unconsumed = await _unconsumed(runtime)
    parked = await pg.fetchval("SELECT count(*) FROM parked_events")
    waiting = await pg.fetchval("SELECT count(*) FROM pending_evaluations")
    running = await pg.fetchval("SELECT count(*) FROM sweeps WHERE status = 'running'")
    counts = {
        row["status"]: row["n"]
        for row in await pg.fetch(
            "SELECT status, count(*) AS n FROM findings WHERE region_code LIKE ANY($1) GROUP BY status",
            scope.patterns(),
        )
    }
    policy = await current_policy(pg, runtime.settings)
    failing = any(consumer.failing for consumer in runtime.consumers)
    reasons: dict[Unsettled, bool] = {
        "upstream_unpublished": any(count != 0 for count in upstream.values()),
        "broker_unreachable": unconsumed is None,
        "unconsumed_events": bool(unconsumed),
        "consumer_not_running": not failing and not all(consumer.connected for consumer in runtime.consumers),
        "consumer_failing": failing,
        "parked_events": parked > 0,
        "awaiting_evaluation": waiting > 0,
        "running_sweeps": running > 0,
        "relay_failing": runtime.relay is not None and runtime.relay.failing,
    }
    unsettled = [reason for reason, holds in reasons.items() if holds]
    return Progress(
        settled=not unsettled,
        unsettled_because=unsettled,
        upstream_unpublished=upstream,
        unconsumed_events=unconsumed,
        awaiting_evaluation=waiting,
        running_sweeps=running,
        findings=counts,
        last_audit=await latest_audit(pg, scope),
        review_month=policy.review_month,
    )


SWEEP_COLUMNS = "sweep_id::text, region_code, reason, status, purpose, sample_percent, total, done, changed, started_at, finished_at"


async def sweep(pg: asyncpg.Connection, sweep_id: uuid.UUID) -> Sweep | None:
    row = await pg.fetchrow(f"SELECT {SWEEP_COLUMNS} FROM sweeps WHERE sweep_id = $1", sweep_id)
    return None if row is None else Sweep.model_validate(dict(row))


async def latest_audit(pg: asyncpg.Connection, scope: RegionScope) -> Sweep | None:
    """The latest audit the caller may follow (`GET /sweeps/{id}`'s rule): of a region within its regions, or
    of everyone for a province-wide caller."""
    row = await pg.fetchrow(
        f"SELECT {SWEEP_COLUMNS} FROM sweeps WHERE purpose = 'audit' "
        "AND (region_code LIKE ANY($1) OR ($2 AND region_code = $3)) ORDER BY started_at DESC, sweep_id LIMIT 1",
        scope.patterns(),
        scope.covers_provinces(),
        EVERYWHERE,
    )
    return None if row is None else Sweep.model_validate(dict(row))
