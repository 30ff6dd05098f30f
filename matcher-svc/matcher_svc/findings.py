"""Where findings come from: load people's projection in bulk, run the rule catalog, record what changed.

A finding keeps its id per (person, rule). One that fires is `open` or `exempted`; one that no
longer fires is kept as `cleared`, with when and why. Every changed finding is published on
`matcher.findings` through the outbox (one change set per evaluation, `events.FINDINGS`).

A finding names the units it is about at the top level (`units_of`, from its evidence), so that officers
and platforms filter findings by unit name or USCC.

Who is evaluated when is decided elsewhere: the queue by `evaluation_worker`, whole regions by `sweeps`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import date
from typing import Any

import asyncpg
import orjson

from domain.identifiers import normalize_unit_name
from kernel import outbox
from matcher_svc.domain import (
    Exemption,
    Finding,
    GrantedExemption,
    PaidMonth,
    Person,
    PersonStatus,
    Policy,
    Registration,
    Rule,
    Unit,
    UnitDirectory,
)
from matcher_svc.events import FINDINGS
from matcher_svc.rules import ACTIVE, evaluate


async def load_people(pg: asyncpg.Connection, person_keys: Collection[str]) -> tuple[list[Person], UnitDirectory]:
    """The people of `person_keys` as the rules see them, and the units they refer to."""
    keys = list(person_keys)
    # In a fixed order: the evidence lists them as read, and an upsert (a replay) moves rows on disk, so an
    # unordered read would publish the same finding again with its lists reordered.
    people = await pg.fetch("SELECT * FROM people WHERE person_key = ANY($1) ORDER BY person_key", keys)
    registrations = await pg.fetch(
        "SELECT * FROM registrations WHERE person_key = ANY($1) ORDER BY category, certificate_no", keys
    )
    months = await pg.fetch(
        "SELECT * FROM paid_months WHERE person_key = ANY($1) ORDER BY source, period, unit_uscc", keys
    )
    statuses = await pg.fetch("SELECT * FROM person_statuses WHERE person_key = ANY($1) ORDER BY status, since", keys)
    granted = await pg.fetch(
        "SELECT * FROM granted_exemptions WHERE person_key = ANY($1) ORDER BY exemption, rule, case_ref", keys
    )
    insurance_months = {
        row["province"]: frozenset(row["periods"])
        for row in await pg.fetch(
            "SELECT province, array_agg(period) AS periods FROM data_months WHERE source = 'insurance' GROUP BY province"
        )
    }
    usccs = {r["unit_uscc"] for r in registrations if r["unit_uscc"]} | {m["unit_uscc"] for m in months}
    names = list({r["unit_name_norm"] for r in registrations})
    # One indexed lookup per way a unit can be referred to (an OR of them would scan every unit).
    units = await pg.fetch(
        "SELECT * FROM units WHERE uscc = ANY($1) "
        "UNION SELECT * FROM units WHERE name_norm = ANY($2) "
        "UNION SELECT * FROM units WHERE former_names_norm && $2 "
        "UNION SELECT * FROM units WHERE head_office_uscc = ANY($1) "
        "UNION SELECT h.* FROM units b JOIN units h ON h.uscc = b.head_office_uscc WHERE b.uscc = ANY($1) ORDER BY uscc",
        list(usccs),
        names,
    )
    by_person: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in registrations:
        by_person[r["person_key"]]["registrations"].append(
            Registration(
                category=r["category"],
                certificate_no=r["certificate_no"],
                unit_name=r["unit_name"],
                unit_uscc=r["unit_uscc"],
                region_code=r["region_code"],
                registered_on=r["registered_on"],
                status=r["status"],
                batch_id=r["batch_id"],
            )
        )
    for m in months:
        month = PaidMonth(
            period=m["period"],
            unit_uscc=m["unit_uscc"],
            unit_name=m["unit_name"],
            region_code=m["region_code"],
            batch_id=m["batch_id"],
            insurance_types=tuple(m["insurance_types"]),
        )
        by_person[m["person_key"]]["contributions" if m["source"] == "insurance" else "deposits"].append(month)
    for s in statuses:
        by_person[s["person_key"]]["statuses"].append(PersonStatus(status=s["status"], since=s["since"]))
    for g in granted:
        by_person[g["person_key"]]["granted"].append(
            GrantedExemption(
                exemption=Exemption(g["exemption"]),
                rule=None if g["rule"] == "*" else Rule(g["rule"]),
                case_ref=g["case_ref"],
            )
        )

    def data_months(registrations: list[Registration]) -> frozenset[str]:
        provinces = {r.region_code[:2] for r in registrations if r.status == ACTIVE}
        return frozenset().union(*(insurance_months.get(p, frozenset()) for p in provinces))

    persons = [
        Person(
            person_key=p["person_key"],
            masked_id=p["masked_id"],
            name=p["name"],
            birth_date=p["birth_date"] or date.min,
            id_checksum_failed=p["id_checksum_failed"],
            **{field: tuple(items) for field, items in by_person[p["person_key"]].items()},
            insurance_data_months=data_months(by_person[p["person_key"]]["registrations"]),
        )
        for p in people
    ]
    directory = UnitDirectory(
        [
            Unit(
                uscc=u["uscc"],
                name=u["name"],
                name_norm=u["name_norm"],
                former_names_norm=tuple(u["former_names_norm"]),
                kind=u["kind"],
                head_office_uscc=u["head_office_uscc"],
                region_code=u["region_code"],
            )
            for u in units
        ]
    )
    return persons, directory


Units = list[dict[str, str | None]]


def _unit_key(unit: dict[str, str | None]) -> tuple[str, str]:
    return unit["uscc"] or "", unit["name"] or ""


def units_of(evidence: dict[str, Any]) -> tuple[Units, Units]:
    """The units a finding is about, from its evidence (contract: kernel.events.FindingV1): the registered
    units the rule looked at (`registered`: the name as registered, the USCC as registered or as the
    name resolved to), and the units other than a registered one that paid in the months it looked at
    (`paid`: empty for the rules that are not about a payer). Distinct, by USCC then name (code points,
    as the migration's backfill orders them)."""
    registered = {
        (entry.get("resolved_uscc") or entry.get("uscc") or None, entry["name"])
        for entry in evidence.get("registered", ())
    }
    paying = {
        (entry.get("uscc") or None, entry["name"])
        for entries in evidence.get("paid", {}).values()
        for entry in entries
        if not entry.get("same")
    }

    def listed(pairs: set[tuple[str | None, str]]) -> Units:
        return sorted(({"name": name, "uscc": uscc} for uscc, name in pairs), key=_unit_key)

    return listed(registered), listed(paying)


def unit_filters(registered: Units, paying: Units) -> tuple[list[str], list[str]]:
    """What the `unit_name` and `unit_uscc` filters match: the units' normalised names and their USCCs."""
    units = registered + paying
    names = sorted({norm for unit in units if unit["name"] and (norm := normalize_unit_name(unit["name"]))})
    usccs = sorted({unit["uscc"] for unit in units if unit["uscc"]})
    return names, usccs


async def evaluate_people(pg: asyncpg.Connection, person_keys: Collection[str], policy: Policy) -> int:
    """Re-evaluates `person_keys` in the caller's transaction; returns how many findings changed."""
    if not person_keys:
        return 0
    # Instances of one consumer group split people by partition, but a unit's event (keyed by USCC)
    # can make another instance evaluate the same person: one evaluation per person at a time, and it
    # reads what the previous one committed. Sorted, so two batches never wait on each other in a cycle.
    await pg.execute(
        "SELECT pg_advisory_xact_lock(hashtext(k)) FROM (SELECT unnest($1::text[]) AS k ORDER BY 1) keys",
        list(person_keys),
    )
    persons, directory = await load_people(pg, person_keys)
    fired: list[tuple[Person, Finding]] = [(p, f) for p in persons for f in evaluate(p, directory, policy)]
    units = [units_of(f.evidence) for _, f in fired]
    filters = [unit_filters(registered, paying) for registered, paying in units]

    def as_json(values: list[Any]) -> list[str]:
        return [orjson.dumps(value).decode() for value in values]

    change_id = uuid.uuid4()
    # The units follow from the evidence: an unchanged evidence leaves them unchanged too.
    written = await pg.fetchval(
        "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
        "$6::text[], $7::text[], $8::text[], $9::jsonb[], $13::jsonb[], $14::jsonb[], $15::jsonb[], $16::jsonb[]) "
        "AS i(person_key, rule, status, exemption, severity, region_code, masked_id, name, evidence, "
        "registered_units, paying_units, names_norm, usccs)), "
        "written AS (INSERT INTO findings (finding_id, person_key, rule, status, exemption, severity, region_code, "
        "masked_id, name, review_month, evidence, rule_set_version, change_id, registered_units, paying_units, "
        "unit_names_norm, unit_usccs) "
        "SELECT gen_random_uuid(), person_key, rule, status, exemption, severity, region_code, masked_id, name, "
        "$10, evidence, $11, $12, registered_units, paying_units, "
        "ARRAY(SELECT jsonb_array_elements_text(names_norm)), ARRAY(SELECT jsonb_array_elements_text(usccs)) "
        "FROM input "
        "ON CONFLICT (person_key, rule) DO UPDATE SET (status, exemption, severity, region_code, masked_id, name, "
        "review_month, evidence, rule_set_version, change_id, updated_at, cleared_at, registered_units, "
        "paying_units, unit_names_norm, unit_usccs) = ROW(excluded.status, "
        "excluded.exemption, excluded.severity, excluded.region_code, excluded.masked_id, excluded.name, "
        "excluded.review_month, excluded.evidence, excluded.rule_set_version, excluded.change_id, now(), NULL, "
        "excluded.registered_units, excluded.paying_units, excluded.unit_names_norm, excluded.unit_usccs) "
        "WHERE (findings.status, findings.exemption, findings.severity, findings.region_code, findings.name, "
        "findings.review_month, findings.evidence, findings.rule_set_version) IS DISTINCT FROM (excluded.status, "
        "excluded.exemption, excluded.severity, excluded.region_code, excluded.name, excluded.review_month, "
        "excluded.evidence, excluded.rule_set_version) RETURNING 1) "
        "SELECT count(*) FROM written",
        [p.person_key for p, _ in fired],
        [f.rule.value for _, f in fired],
        [f.status for _, f in fired],
        [f.exemption.value if f.exemption else None for _, f in fired],
        [f.severity for _, f in fired],
        [f.region_code for _, f in fired],
        [p.masked_id for p, _ in fired],
        [p.name for p, _ in fired],
        [orjson.dumps(f.evidence).decode() for _, f in fired],
        policy.review_month,
        policy.rule_set_version,
        change_id,
        as_json([registered for registered, _ in units]),
        as_json([paying for _, paying in units]),
        as_json([names for names, _ in filters]),
        as_json([usccs for _, usccs in filters]),
    )
    # Findings that no longer fire are kept, cleared, with when and why.
    cleared = await pg.fetchval(
        "WITH cleared AS (UPDATE findings f SET status = 'cleared', cleared_at = now(), updated_at = now(), "
        "change_id = $3, review_month = $4, "
        "evidence = f.evidence || jsonb_build_object('cleared_because', "
        "'the rule no longer fires on the current data for review month ' || $4) "
        "WHERE f.person_key = ANY($1) AND f.status <> 'cleared' AND NOT EXISTS ("
        "SELECT 1 FROM unnest($2::text[], $5::text[]) AS still(person_key, rule) "
        "WHERE still.person_key = f.person_key AND still.rule = f.rule) "
        "RETURNING 1) SELECT count(*) FROM cleared",
        list(person_keys),
        [p.person_key for p, _ in fired],
        change_id,
        policy.review_month,
        [f.rule.value for _, f in fired],
    )
    if written or cleared:
        await outbox.queue_change_set(pg, FINDINGS, change_id)
    return written + cleared
