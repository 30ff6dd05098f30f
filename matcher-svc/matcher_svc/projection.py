"""Applying the feeds' events to the per-person projection, set-wise per batch.

Every event states a record's current state (a registration, a unit, or all of a person's months
or statuses), so applying it is an upsert or a replace: replaying a topic, or receiving an event
twice, yields the same projection. Each function returns the people whose findings may have changed;
`APPLY` lists them by payload, in the order a batch applies them (units before the registrations that
name them). Whoever a province's 社保 month that arrived or went away concerns is found when the evaluation
worker counts the months that batches noted (`fold_data_months`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from domain.identifiers import normalize_unit_name
from kernel.events import (
    ContributionMonthV1,
    ContributionsRecordedV1,
    DepositsRecordedV1,
    EventPayload,
    ExemptionDecidedV1,
    PaidMonthV1,
    PersonStatusRecordedV1,
    RegistrationRecordedV1,
    UnitRecordedV1,
)
from kernel.packing import packed, unpacked_sql
from matcher_svc.models import PAYMENT_MONTH_COLUMNS


async def apply_units(pg: asyncpg.Connection, units: list[UnitRecordedV1]) -> set[str]:
    usccs = [u.uscc for u in units]
    # The names these units went by until now: who was registered under one may resolve differently.
    before = await pg.fetch("SELECT name_norm, former_names_norm FROM units WHERE uscc = ANY($1)", usccs)
    await pg.execute(
        "INSERT INTO units (uscc, name, name_norm, former_names_norm, kind, head_office_uscc, region_code) "
        "SELECT u.uscc, u.name, u.name_norm, string_to_array(u.former, chr(31)), u.kind, u.head, u.region "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) "
        "AS u(uscc, name, name_norm, former, kind, head, region) "
        "ON CONFLICT (uscc) DO UPDATE SET (name, name_norm, former_names_norm, kind, head_office_uscc, region_code) "
        "= ROW(excluded.name, excluded.name_norm, excluded.former_names_norm, excluded.kind, "
        "excluded.head_office_uscc, excluded.region_code)",
        [u.uscc for u in units],
        [u.name for u in units],
        [normalize_unit_name(u.name) for u in units],
        ["\x1f".join(normalize_unit_name(n) for n in u.former_names) for u in units],
        [u.kind for u in units],
        [u.head_office_uscc for u in units],
        [u.region_code for u in units],
    )
    # A new version of the units (random: `findings` keeps whole directories by it, whatever the database).
    await pg.execute(
        "INSERT INTO matcher_state (key, value) VALUES ('units_version', gen_random_uuid()::text) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    # Whoever names (by a name old or new) or is paid by these units (or their branches) may resolve
    # differently now.
    names = [normalize_unit_name(n) for u in units for n in (u.name, *u.former_names)]
    names += [name for row in before for name in (row["name_norm"], *row["former_names_norm"])]
    rows = await pg.fetch(
        "SELECT person_key FROM registrations WHERE unit_uscc = ANY($1) OR unit_name_norm = ANY($2) "
        "UNION SELECT person_key FROM person_payments "
        "WHERE unit_usccs && ($1 || ARRAY(SELECT uscc FROM units WHERE head_office_uscc = ANY($1)))",
        usccs,
        names,
    )
    return {row["person_key"] for row in rows}


async def apply_registrations(pg: asyncpg.Connection, latest: list[RegistrationRecordedV1]) -> set[str]:
    """`latest`: one state per certificate (the consumer keeps the latest); a person's identity row
    takes the last of that person's registrations."""
    people = list({r.person_ref: r for r in latest}.values())
    await pg.execute(
        "INSERT INTO people (person_key, masked_id, name, birth_date, id_checksum_failed) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::boolean[]) "
        "ON CONFLICT (person_key) DO UPDATE SET (masked_id, name, birth_date, id_checksum_failed) = "
        "ROW(excluded.masked_id, excluded.name, excluded.birth_date, excluded.id_checksum_failed)",
        [p.person_ref for p in people],
        [p.masked_id for p in people],
        [p.name for p in people],
        [p.birth_date for p in people],
        [p.id_checksum_failed for p in people],
    )
    # A certificate that moves to another person leaves the first person's view too. Its states travel in the two
    # holders' partitions: one older than the state held (by the registry's revision) is not taken.
    moved = await pg.fetch(
        "SELECT r.person_key FROM registrations r "
        "JOIN unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS n(category, cert, person, revision) "
        "ON r.category = n.category AND r.certificate_no = n.cert WHERE r.person_key <> n.person "
        "AND r.revision <= n.revision",
        [r.category for r in latest],
        [r.certificate_no for r in latest],
        [r.person_ref for r in latest],
        [r.revision for r in latest],
    )
    await pg.execute(
        "INSERT INTO registrations (category, certificate_no, person_key, unit_name, unit_name_norm, unit_uscc, "
        "region_code, registered_on, status, batch_id, revision) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
        "$8::date[], $9::text[], $10::text[], $11::bigint[]) "
        "ON CONFLICT (category, certificate_no) DO UPDATE SET (person_key, unit_name, unit_name_norm, unit_uscc, "
        "region_code, registered_on, status, batch_id, revision) = ROW(excluded.person_key, excluded.unit_name, "
        "excluded.unit_name_norm, excluded.unit_uscc, excluded.region_code, excluded.registered_on, "
        "excluded.status, excluded.batch_id, excluded.revision) "
        "WHERE registrations.revision <= excluded.revision",
        [r.category for r in latest],
        [r.certificate_no for r in latest],
        [r.person_ref for r in latest],
        [r.unit_name for r in latest],
        [normalize_unit_name(r.unit_name) for r in latest],
        [r.unit_uscc for r in latest],
        [r.region_code for r in latest],
        [r.registered_on for r in latest],
        [r.status for r in latest],
        [r.batch_id for r in latest],
        [r.revision for r in latest],
    )
    return {r.person_ref for r in latest} | {row["person_key"] for row in moved}


async def apply_contributions(pg: asyncpg.Connection, payments: list[ContributionsRecordedV1]) -> set[str]:
    return await _apply_months(pg, "insurance", payments)


async def apply_deposits(pg: asyncpg.Connection, payments: list[DepositsRecordedV1]) -> set[str]:
    return await _apply_months(pg, "fund", payments)


# The fields of a month, in the order of models.PAYMENT_MONTH_COLUMNS (the arrays that hold them).
_MONTH_FIELDS = ("period", "unit_uscc", "unit_name", "region_code", "batch_id", "types")


def _month_order(month: PaidMonthV1) -> tuple[str, str]:
    return month.period, month.unit_uscc


def _types(month: PaidMonthV1) -> str:
    """A month's insurance types joined by commas; none for a deposit."""
    return ",".join(month.insurance_types) if isinstance(month, ContributionMonthV1) else ""


async def _apply_months(
    pg: asyncpg.Connection, source: str, payments: Sequence[ContributionsRecordedV1 | DepositsRecordedV1]
) -> set[str]:
    keys = [p.person_ref for p in payments]
    # Only the 社保 feed's months say anything of those who did not pay (SI_NONE: `data_months`); the 公积金 feed's
    # were counted too until nobody read them.
    counted = source == "insurance"
    replaced = await pg.fetch(
        "WITH replaced AS (DELETE FROM person_payments WHERE person_key = ANY($1) AND source = $2 "
        "RETURNING region_codes, periods) "
        "SELECT left(m.region_code, 2) AS province, m.period FROM replaced, "
        "unnest(replaced.region_codes, replaced.periods) AS m(region_code, period) WHERE $3",
        keys,
        source,
        counted,
    )
    # Each person's months in (period, unit) order, as the row keeps them (`models.person_payments`); the
    # batch's months as one tuple each, then as columns (one pass: a list per column took three times as long).
    months = [
        (p.person_ref, m.period, m.unit_uscc, m.unit_name, m.region_code, m.batch_id, _types(m))
        for p in payments
        for m in sorted(p.months, key=_month_order)
    ]
    separator, columns = packed(*(zip(*months, strict=True) if months else [() for _ in range(7)]))
    arrays = ", ".join(unpacked_sql(f"${n}", "$2") for n in range(3, 3 + len(columns)))
    # One sort of the batch's months by person and order (PostgreSQL 16 sorts once for aggregates that share
    # their ORDER BY), then one row a person.
    aggregated = ", ".join(f"array_agg(m.{name} ORDER BY m.n)" for name in _MONTH_FIELDS)
    await pg.execute(
        f"INSERT INTO person_payments (person_key, source, {', '.join(PAYMENT_MONTH_COLUMNS)}) "
        f"SELECT m.person_key, $1, {aggregated} FROM unnest({arrays}) WITH ORDINALITY "
        f"AS m(person_key, {', '.join(_MONTH_FIELDS)}, n) GROUP BY m.person_key",
        source,
        separator,
        *columns,
    )
    if counted:
        records = Counter((region_code[:2], period) for _, period, _, _, region_code, *_ in months)
        records.subtract((row["province"], row["period"]) for row in replaced)
        if deltas := [(province, period, n) for (province, period), n in records.items() if n]:
            # Noted, not counted here: every batch would lock the same few rows until it commits (`fold_data_months`).
            await pg.execute(
                "INSERT INTO data_month_changes (province, period, records) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])",
                *(list(column) for column in zip(*deltas, strict=True)),
            )
    return set(keys)


async def fold_data_months(pg: asyncpg.Connection) -> set[str]:
    """Counts the 社保 months that batches noted (`data_month_changes`) into `data_months`; returns whoever is
    registered in a province one of whose months arrived or went away with them (`_registered_in`), to be queued.

    The consumer notes a batch's months rather than counting them: the counts are a few rows (one a province and
    month) that every batch of contributions would update, each holding them until it commits, so the projection's
    members and instances applied their batches' ends in turn (with four members, a fifth of the matcher database's
    busy time was spent waiting for them). Noting takes no lock; the evaluation worker folds what was noted before
    it looks at the queue. Folds may run side by side (instances): each takes the notes committed so far, and an
    update of a count waits for another's, so each sees the count before its own change."""
    folded = await pg.fetch(
        "WITH noted AS (DELETE FROM data_month_changes RETURNING province, period, records) "
        "SELECT province, period, sum(records)::bigint AS records FROM noted GROUP BY province, period "
        "HAVING sum(records) <> 0 ORDER BY province, period"  # ordered: concurrent folds lock in one order
    )
    if not folded:
        return set()
    rows = await pg.fetch(
        "INSERT INTO data_months AS d (source, province, period, records) "
        "SELECT 'insurance', c.province, c.period, c.n FROM unnest($1::text[], $2::text[], $3::bigint[]) "
        "AS c(province, period, n) "
        "ON CONFLICT (source, province, period) DO UPDATE SET records = d.records + excluded.records "
        "RETURNING d.province, d.period, d.records",
        *(list(column) for column in zip(*folded, strict=True)),
    )
    delta = {(row["province"], row["period"]): row["records"] for row in folded}
    changed = {
        (row["province"], row["period"])
        for row in rows
        if (row["records"] > 0) != (row["records"] - delta[row["province"], row["period"]] > 0)
    }
    if any(row["records"] <= 0 for row in rows):
        await pg.execute("DELETE FROM data_months WHERE source = 'insurance' AND records <= 0")
    return await _registered_in(pg, changed) if changed else set()


async def _registered_in(pg: asyncpg.Connection, months: set[tuple[str, str]]) -> set[str]:
    """The people a province's 社保 month that arrived or went away may judge differently: whoever is actively
    registered in the province. A superset of those with no contribution that month (SI_NONE and its evidence,
    whatever the review month): picking those out took a probe of every registered person's months, 4.2 s for
    100,000 people in one transaction on a first load, against queueing the few who paid (their own events queue
    them anyway when a month's feed arrives)."""
    rows = await pg.fetch(
        "SELECT DISTINCT person_key FROM registrations WHERE status = 'active' AND left(region_code, 2) = ANY($1)",
        sorted({province for province, _ in months}),
    )
    return {row["person_key"] for row in rows}


async def apply_statuses(pg: asyncpg.Connection, statuses: list[PersonStatusRecordedV1]) -> set[str]:
    keys = [s.person_ref for s in statuses]
    await pg.execute("DELETE FROM person_statuses WHERE person_key = ANY($1)", keys)
    rows = [(s.person_ref, item) for s in statuses for item in s.statuses]
    await pg.execute(
        "INSERT INTO person_statuses (person_key, status, since) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::date[]) ON CONFLICT DO NOTHING",
        [key for key, _ in rows],
        [item.status for _, item in rows],
        [item.since for _, item in rows],
    )
    return set(keys)


async def apply_exemptions(pg: asyncpg.Connection, decisions: list[ExemptionDecidedV1]) -> set[str]:
    for decision in decisions:  # few, and their order matters (a grant then a withdrawal)
        rule = decision.rule or "*"
        if decision.granted:
            await pg.execute(
                "INSERT INTO granted_exemptions (person_key, exemption, rule, case_ref) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (person_key, exemption, rule) DO UPDATE SET case_ref = excluded.case_ref",
                decision.person_ref,
                decision.exemption,
                rule,
                decision.case_ref,
            )
        else:
            await pg.execute(
                "DELETE FROM granted_exemptions WHERE person_key = $1 AND exemption = $2 AND rule = $3",
                decision.person_ref,
                decision.exemption,
                rule,
            )
    return {d.person_ref for d in decisions}


# Applies a batch's payloads of one model; returns the people whose findings may have changed.
Apply = Callable[[asyncpg.Connection, Any], Awaitable[set[str]]]

APPLY: dict[type[EventPayload], Apply] = {
    UnitRecordedV1: apply_units,
    RegistrationRecordedV1: apply_registrations,
    ContributionsRecordedV1: apply_contributions,
    DepositsRecordedV1: apply_deposits,
    PersonStatusRecordedV1: apply_statuses,
    ExemptionDecidedV1: apply_exemptions,
}
TOPICS_CONSUMED = tuple(sorted({model.topic for model in APPLY}))
