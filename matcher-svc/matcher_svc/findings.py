"""Where findings come from: load people's projection in bulk, run the rule catalog, record what changed.

A finding keeps its id per (person, rule). One that fires is `open` or `exempted`; one that no
longer fires is kept as `cleared`, with when and why. An evaluation reads the findings stored for its
people with their data and writes only those that changed (`evaluate_loaded`). Every changed finding is
published on `matcher.findings` through the outbox (one change set per evaluation, `events.FINDINGS`).

A finding names the units it is about at the top level (`units_of`, from its evidence), so that officers
and platforms filter findings by unit name or USCC.

Who is evaluated when is decided elsewhere: the queue by `evaluation_worker`, whole regions by `sweeps`, both
chunk by chunk (`chunks`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import orjson

from domain.identifiers import normalize_unit_name
from kernel import collector, outbox
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

# The people of a chunk ($1), also bounded by its first and last key. A chunk (of a sweep, or of the queue after
# a load) is a run of consecutive keys: with the bound, PostgreSQL reads its rows through the person-key index;
# with `= ANY` alone it takes a few thousand keys for a large share of the table and scans all of it, for every
# chunk (a sweep read the whole payments table 50 times). The bounds in SQL: the column's collation orders them.
_IN_CHUNK = (
    "person_key = ANY($1) AND person_key BETWEEN (SELECT min(k) FROM unnest($1::text[]) k) "
    "AND (SELECT max(k) FROM unnest($1::text[]) k)"
)
# The projection's columns in the order the domain's dataclasses take them, the person key first: a row is
# turned into its object positionally (by name, the lookups alone cost more than the query).
_PEOPLE = (
    "SELECT person_key, masked_id, name, birth_date, id_checksum_failed FROM people "
    f"WHERE {_IN_CHUNK} ORDER BY person_key"
)
_REGISTRATIONS = (
    "SELECT person_key, category, certificate_no, unit_name, unit_uscc, region_code, registered_on, status, "
    f"batch_id, unit_name_norm FROM registrations WHERE {_IN_CHUNK} ORDER BY category, certificate_no"
)
# In primary-key order: an index scan, no sort; a row's months are in (period, unit_uscc) order already.
_PAYMENTS = (
    "SELECT person_key, source = 'insurance', periods, unit_usccs, unit_names, region_codes, batch_ids, "
    f"insurance_types FROM person_payments WHERE {_IN_CHUNK} ORDER BY person_key, source"
)
_STATUSES = f"SELECT person_key, status, since FROM person_statuses WHERE {_IN_CHUNK} ORDER BY status, since"
_GRANTED = (
    f"SELECT person_key, exemption, rule, case_ref FROM granted_exemptions WHERE {_IN_CHUNK} "
    "ORDER BY exemption, rule, case_ref"
)
_UNITS = (
    # One indexed lookup per way a unit can be referred to (an OR of them would scan every unit). Former names
    # are matched by a hash join with the chunk's names: `former_names_norm && $2` took those apart again for
    # every unit, or (through the GIN index) compared them one by one, ten times slower on PostgreSQL 16 and
    # reading the index's whole pending list after a load.
    "SELECT uscc, name, name_norm, former_names_norm, kind, head_office_uscc, region_code FROM ("
    "SELECT * FROM units WHERE uscc = ANY($1) "
    "UNION SELECT * FROM units WHERE name_norm = ANY($2) "
    "UNION SELECT u.* FROM units u CROSS JOIN LATERAL unnest(u.former_names_norm) AS former(name) "
    "JOIN unnest($2::text[]) AS wanted(name) ON wanted.name = former.name "
    "UNION SELECT * FROM units WHERE head_office_uscc = ANY($1) "
    "UNION SELECT h.* FROM units b JOIN units h ON h.uscc = b.head_office_uscc WHERE b.uscc = ANY($1)) u "
    "ORDER BY uscc"
)
# The 社保 months each province has data for: those counted, with what batches noted and no fold has counted yet
# (`projection.fold_data_months`), so that a chunk reads what is committed whenever the worker last folded.
_INSURANCE_MONTHS = (
    "SELECT province, array_agg(period) AS periods FROM ("
    "SELECT province, period FROM (SELECT province, period, records FROM data_months WHERE source = 'insurance' "
    "UNION ALL SELECT province, period, records FROM data_month_changes) AS counted "
    "GROUP BY province, period HAVING sum(records) > 0) AS held GROUP BY province"
)
# The version of the units (stamped by `projection.apply_units`); every unit, with the version the same snapshot holds.
_UNITS_VERSION = "SELECT value FROM matcher_state WHERE key = 'units_version'"
_ALL_UNITS = (
    "SELECT uscc, name, name_norm, former_names_norm, kind, head_office_uscc, region_code, "
    f"({_UNITS_VERSION}) FROM units ORDER BY uscc"
)
# Whole directories by the version of the units they hold: a chunk reads the version (one row) and, while it
# stands, the directory loaded once. The chunk's own units took five scans of the units table per chunk (about
# 30 ms a chunk at 9,300 units, more as a province's units grow), and as many objects made again. A version is
# random (`projection.apply_units`), so a directory never stands for another database's units.
_DIRECTORIES: dict[str, UnitDirectory] = {}
_DIRECTORIES_KEPT = 4


async def load_people(pg: asyncpg.Connection, person_keys: Collection[str]) -> tuple[list[Person], UnitDirectory]:
    """The people of `person_keys` as the rules see them, and the units they refer to.

    One set-based query per table for the whole chunk. In a fixed order: the evidence lists rows as read,
    and an upsert (a replay) moves rows on disk, so an unordered read would publish the same finding again
    with its lists reordered.
    """
    keys = list(person_keys)
    version = await pg.fetchval(_UNITS_VERSION)
    registrations: dict[str, list[Registration]] = defaultdict(list)
    names: set[str] = set()  # the units the chunk refers to, when they are read for the chunk alone
    usccs: set[str] = set()
    for row in await pg.fetch(_REGISTRATIONS, keys):
        registrations[row[0]].append(Registration(*row[1:9]))
        if version is None:
            names.add(row[9])
            if row[4]:
                usccs.add(row[4])
    contributions: dict[str, list[PaidMonth]] = defaultdict(list)
    deposits: dict[str, list[PaidMonth]] = defaultdict(list)
    for key, insurance, *months in await pg.fetch(_PAYMENTS, keys):
        (contributions if insurance else deposits)[key] = [
            PaidMonth(period, uscc, unit_name, region_code, batch_id, tuple(types.split(",")) if types else ())
            for period, uscc, unit_name, region_code, batch_id, types in zip(*months, strict=True)
        ]
        if version is None:
            usccs.update(months[1])
    statuses: dict[str, list[PersonStatus]] = defaultdict(list)
    for key, status, since in await pg.fetch(_STATUSES, keys):
        statuses[key].append(PersonStatus(status, since))
    granted: dict[str, list[GrantedExemption]] = defaultdict(list)
    for key, exemption, rule, case_ref in await pg.fetch(_GRANTED, keys):
        granted[key].append(GrantedExemption(Exemption(exemption), None if rule == "*" else Rule(rule), case_ref))
    insurance_months = {row["province"]: frozenset(row["periods"]) for row in await pg.fetch(_INSURANCE_MONTHS)}
    directory = (
        await _unit_directory(pg, version)
        if version is not None
        else _directory(await pg.fetch(_UNITS, list(usccs), list(names)))
    )

    covered: dict[frozenset[str], frozenset[str]] = {}  # the months of a set of provinces, computed once

    def data_months(registered: list[Registration]) -> frozenset[str]:
        provinces = frozenset(r.region_code[:2] for r in registered if r.status == ACTIVE)
        months = covered.get(provinces)
        if months is None:
            months = covered[provinces] = frozenset().union(*(insurance_months.get(p, ()) for p in provinces))
        return months

    no_rows: list[Any] = []
    persons = [
        Person(
            person_key=key,
            masked_id=masked_id,
            name=name,
            birth_date=birth_date or date.min,
            registrations=tuple(registered := registrations.get(key, no_rows)),
            contributions=tuple(contributions.get(key, no_rows)),
            deposits=tuple(deposits.get(key, no_rows)),
            statuses=tuple(statuses.get(key, no_rows)),
            granted=tuple(granted.get(key, no_rows)),
            insurance_data_months=data_months(registered),
            id_checksum_failed=id_checksum_failed,
        )
        for key, masked_id, name, birth_date, id_checksum_failed in await pg.fetch(_PEOPLE, keys)
    ]
    return persons, directory


async def _unit_directory(pg: asyncpg.Connection, version: str) -> UnitDirectory:
    """Every unit as of `version` (`_DIRECTORIES`), loaded when no directory holds that version."""
    directory = _DIRECTORIES.get(version)
    if directory is None:
        rows = await pg.fetch(_ALL_UNITS)
        directory = _directory(row[:7] for row in rows)
        if len(_DIRECTORIES) >= _DIRECTORIES_KEPT:
            del _DIRECTORIES[next(iter(_DIRECTORIES))]
        # Under the version read with the units (it may have moved since the chunk looked).
        _DIRECTORIES[rows[0][7] if rows else version] = directory
    return directory


def _directory(rows: Iterable[Sequence[Any]]) -> UnitDirectory:
    return UnitDirectory(
        Unit(uscc, name, name_norm, tuple(former), kind, head_office_uscc, region_code)
        for uscc, name, name_norm, former, kind, head_office_uscc, region_code in rows
    )


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
    with collector.paused():  # a chunk's rows and the objects made of them: many, no cycles
        await lock_people(pg, person_keys)
        return await evaluate_loaded(pg, await load(pg, person_keys), policy)


async def lock_people(pg: asyncpg.Connection, person_keys: Collection[str]) -> None:
    """Takes `person_keys` for the caller's transaction: one evaluation per person at a time.

    Instances of one consumer group split people by partition, but a unit's event (keyed by USCC) can make
    another instance evaluate the same person; an evaluation loads the people it has taken, so it reads what
    the previous one committed. Sorted, so two batches never wait on each other in a cycle."""
    await pg.execute(
        "SELECT pg_advisory_xact_lock(hashtext(k)) FROM (SELECT unnest($1::text[]) AS k ORDER BY 1) keys",
        list(person_keys),
    )


# What decides whether a finding changed (what the upsert compares, `_write`): its status, exemption, severity,
# region, the person's name, review month, rule set and evidence (as JSON with sorted keys: jsonb equality).
_Compared = tuple[str, str | None, str, str, str, str, str, bytes]


@dataclass(frozen=True)
class Loaded:
    """People as the rules see them, the units they refer to, and the findings stored for them."""

    persons: list[Person]
    directory: UnitDirectory
    stored: dict[tuple[str, str], _Compared]  # by (person key, rule)


async def load(pg: asyncpg.Connection, person_keys: Collection[str]) -> Loaded:
    """What `evaluate_loaded` needs of `person_keys`; their evaluation is theirs once `lock_people` has them."""
    persons, directory = await load_people(pg, person_keys)
    return Loaded(persons, directory, await _stored_findings(pg, person_keys))


# People evaluated between two looks at the event loop: a chunk loading meanwhile (the next one of a sweep or
# of the queue, `chunks`) goes on, and PostgreSQL reads it while the rules run here.
_PEOPLE_PER_TURN = 100


async def evaluate_loaded(pg: asyncpg.Connection, loaded: Loaded, policy: Policy) -> int:
    """Runs the rules on `loaded` people and records what changed in the caller's transaction (on `pg`, which
    may be another connection than the one they were loaded on); returns how many findings changed."""
    persons, directory, stored = loaded.persons, loaded.directory, dict(loaded.stored)
    fired: list[tuple[Person, Finding]] = []
    for start in range(0, len(persons), _PEOPLE_PER_TURN):
        fired += [(p, f) for p in persons[start : start + _PEOPLE_PER_TURN] for f in evaluate(p, directory, policy)]
        await asyncio.sleep(0)
    # Only what changed is written: most of a sweep's (and every clean audit's) findings are as stored.
    changed = []
    for person, finding in fired:
        if stored.pop((person.person_key, finding.rule.value), None) != _compared(person, finding, policy):
            changed.append((person, finding))
    gone = [key for key, (status, *_) in stored.items() if status != "cleared"]  # stored, no longer firing
    change_id = uuid.uuid4()
    written = await _write(pg, changed, policy, change_id) if changed else 0
    cleared = await _clear(pg, gone, policy, change_id) if gone else 0
    if written or cleared:
        await outbox.queue_change_set(pg, FINDINGS, change_id)
    return written + cleared


async def _stored_findings(pg: asyncpg.Connection, person_keys: Collection[str]) -> dict[tuple[str, str], _Compared]:
    """The stored findings of `person_keys` (cleared ones too), by (person key, rule), as `_compared` puts them."""
    rows = await pg.fetch(
        "SELECT person_key, rule, status, exemption, severity, region_code, name, review_month, rule_set_version, "
        f"evidence::text FROM findings WHERE {_IN_CHUNK}",
        list(person_keys),
    )
    return {
        (key, rule): (*compared, orjson.dumps(orjson.loads(evidence), option=orjson.OPT_SORT_KEYS))
        for key, rule, *compared, evidence in rows
    }


def _compared(person: Person, finding: Finding, policy: Policy) -> _Compared:
    return (
        finding.status,
        finding.exemption.value if finding.exemption else None,
        finding.severity,
        finding.region_code,
        person.name,
        policy.review_month,
        policy.rule_set_version,
        orjson.dumps(finding.evidence, option=orjson.OPT_SORT_KEYS),
    )


async def _write(
    pg: asyncpg.Connection, fired: list[tuple[Person, Finding]], policy: Policy, change_id: uuid.UUID
) -> int:
    """Upserts findings that fire; returns how many it wrote (new or changed)."""
    units = [units_of(f.evidence) for _, f in fired]
    filters = [unit_filters(registered, paying) for registered, paying in units]

    def as_json(values: list[Any]) -> list[str]:
        return [orjson.dumps(value).decode() for value in values]

    # The units follow from the evidence: an unchanged evidence leaves them unchanged too.
    written: int = await pg.fetchval(
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
    return written


async def _clear(pg: asyncpg.Connection, gone: list[tuple[str, str]], policy: Policy, change_id: uuid.UUID) -> int:
    """Clears the findings (person key, rule) of `gone`, which no longer fire; they are kept, with when and why.
    Returns how many it cleared."""
    cleared: int = await pg.fetchval(
        "WITH cleared AS (UPDATE findings f SET status = 'cleared', cleared_at = now(), updated_at = now(), "
        "change_id = $3, review_month = $4, "
        "evidence = f.evidence || jsonb_build_object('cleared_because', "
        "'the rule no longer fires on the current data for review month ' || $4) "
        "FROM unnest($1::text[], $2::text[]) AS gone(person_key, rule) "
        "WHERE f.person_key = gone.person_key AND f.rule = gone.rule AND f.status <> 'cleared' "
        "RETURNING 1) SELECT count(*) FROM cleared",
        [key for key, _ in gone],
        [rule for _, rule in gone],
        change_id,
        policy.review_month,
    )
    return cleared
