"""The matcher's findings are a function of the data held and the review month: whatever order, chunking and
rhythm the records arrived in — with duplicates, retractions and evaluations of partial data in between —
the findings standing once everything is consumed and evaluated are those one evaluation from scratch makes
of the data finally held, and a cleared finding is one that no longer fires.

The feeds arrive in-process (arrival.py plays the data services, the bus, and the matcher's consumer, worker
and sweeps) from a small synthetic province of two provinces' people; one matcher database per test, emptied
between examples. A failure names counts, rules, scenarios and pseudonymous person keys only.

Among the corrections are certificates first recorded under another person: their two states travel in two
partitions and may be consumed in either order, and the registry's revisions decide (see
`test_a_certificate_corrected_to_its_holder_stays_with_it` at the end).
"""

from __future__ import annotations

import asyncio
import functools
import sys
import traceback
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from arrival import PERSON_KINDS, Bus, Chunk, Matcher, Sources, disagreement, from_scratch

from devtools.feeds import person_key
from devtools.synthetic import CONSISTENT, SyntheticProvince, generate_province
from matcher_svc.main import service

FINAL_MONTH = "2024-10"
DATA_MONTHS = 9  # 2024-02 … 2024-10: some of the data lies before the window of the final month
CAMPAIGN = ("2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09", "2024-10")
REVIEW_MONTHS = ("2024-08", "2024-09", "2024-10", "2024-11")  # 2024-11: a month with no data yet
SEEDS = (11, 12, 14)  # (seed 13 plants no branch in 16 people of 黑龙江: the generator fails)

EXAMPLES = settings(
    deadline=None,
    database=None,  # nothing written beside the tests
    # The same examples on every run: CI judges a change, not the luck of a draw. Without it, other draws
    # are tried (--hypothesis-seed=N picks one): 83124610383857553648568964716143521185 once failed, the
    # oracle (arrival.Sources.current) judging the insurance types of one unit and month by each row's name
    # where the service states one paying unit under the latest written name.
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the data ----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class World:
    """A province of people from 内蒙古 (two insurance types a month) and 黑龙江 (one), every scenario planted."""

    province: SyntheticProvince
    people: tuple[str, ...]  # ID numbers, in the order generated (never printed)
    scenario_of: dict[str, str]  # person key → scenario

    def with_people(self, kept: list[int]) -> SyntheticProvince:
        """Only the people whose flag is not 0 (every unit stays)."""
        people = {id_number for id_number, flag in zip(self.people, kept, strict=True) if flag}
        p = self.province

        def of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [row for row in rows if row["id_number"] in people]

        return SyntheticProvince(
            units=p.units,
            registrations=of(p.registrations),
            contributions=of(p.contributions),
            person_statuses=of(p.person_statuses),
            deposits=of(p.deposits),
        )

    def person_in(self, scenario: str) -> str:
        return next(i for i in self.people if self.scenario_of[person_key(i)] == scenario)

    def __repr__(self) -> str:  # a failure's traceback shows arguments: never the records
        return f"World({len(self.people)} people)"


@functools.cache
def world(seed: int) -> World:
    home = generate_province(
        people=44, seed=seed, review_month=FINAL_MONTH, months=DATA_MONTHS, insurance_types=("01", "03")
    )
    other = generate_province(people=16, seed=seed, province="230000", review_month=FINAL_MONTH, months=DATA_MONTHS)
    scenarios = {**home.scenarios, **other.scenarios}
    assert len(scenarios) == len(home.scenarios) + len(other.scenarios)
    province = SyntheticProvince(
        units=home.units + other.units,
        registrations=home.registrations + other.registrations,
        contributions=home.contributions + other.contributions,
        person_statuses=home.person_statuses + other.person_statuses,
        deposits=home.deposits + other.deposits,
    )
    return World(province, tuple(scenarios), {person_key(i): name for i, name in scenarios.items()})


# --- chunks: how the records are cut into uploads ---------------------------------------------

REGISTRY = ("units", "registrations")
PAYMENTS = ("contributions", "deposits")
UNIT_KINDS = ("enterprise", "government", "public_institution", "university", "hr_agency")


def _rows(p: SyntheticProvince, kind: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = getattr(p, kind)
    return rows


def _provinces(p: SyntheticProvince, kind: str) -> dict[str, list[dict[str, Any]]]:
    """A kind's rows per province (a status has none: its person's registration's)."""
    home = {row["id_number"]: row["region_code"][:2] for row in p.registrations}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(p, kind):
        out[row["region_code"][:2] if "region_code" in row else home[row["id_number"]]].append(row)
    return dict(sorted(out.items()))


def by_kind(p: SyntheticProvince) -> list[Chunk]:
    """One upload per kind and province."""
    return [
        Chunk(kind, tuple(rows), f"{kind} {province}")
        for kind in (*REGISTRY, "person_statuses", *PAYMENTS)
        for province, rows in _provinces(p, kind).items()
    ]


def by_month(p: SyntheticProvince) -> list[Chunk]:
    """As the centres push: the registry and the statuses, then each month's 社保 and 公积金, oldest first."""
    chunks = [
        Chunk(kind, tuple(rows), f"{kind} {province}")
        for kind in (*REGISTRY, "person_statuses")
        for province, rows in _provinces(p, kind).items()
    ]
    months: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for kind in PAYMENTS:
        for province, rows in _provinces(p, kind).items():
            for row in rows:
                months[row["period"], province, kind].append(row)
    chunks += [
        Chunk(kind, tuple(rows), f"{kind} {province} {month}", month)
        for (month, province, kind), rows in sorted(months.items())
    ]
    return chunks


def at_random(p: SyntheticProvince, seed: int, parts: int) -> list[Chunk]:
    """Each kind's rows dealt at random into up to `parts` uploads (a person's months, even one month's
    insurance types, may land in different ones)."""
    rng = Random(seed)
    chunks = []
    for kind in (*REGISTRY, "person_statuses", *PAYMENTS):
        dealt: list[list[dict[str, Any]]] = [[] for _ in range(rng.randint(1, parts))]
        for row in _rows(p, kind):
            rng.choice(dealt).append(row)
        chunks += [Chunk(kind, tuple(rows), f"{kind} part {i}") for i, rows in enumerate(dealt) if rows]
    return chunks


def earlier_versions(p: SyntheticProvince, seed: int) -> list[Chunk]:
    """Records as the services held them before a correction, one upload per kind: units under a former name,
    not yet linked to their head office, or of another kind; registrations with another status, at another
    person's unit, or of another person — a certificate later corrected to its holder;
    payments recorded under another unit name or in the other province; statuses without their date.
    Whichever version was written last is the one held."""
    rng = Random(seed)
    units = []
    for row in p.units:
        if row.get("former_names"):
            units.append({**row, "name": row["former_names"][0], "former_names": []})
        elif row.get("head_office_uscc"):
            units.append({**row, "head_office_uscc": None})
        elif rng.random() < 0.1:
            units.append({**row, "kind": rng.choice(UNIT_KINDS)})
    registrations = []
    for row in p.registrations:
        other = rng.choice(p.registrations)
        change = rng.choice(("status", "unit", "person", None, None, None))
        if change == "status":
            registrations.append({**row, "status": "cancelled" if row["status"] == "active" else "active"})
        elif change == "unit":
            registrations.append({**row, **{k: other[k] for k in ("unit_name", "unit_uscc", "region_code")}})
        elif change == "person" and other["id_number"] != row["id_number"]:
            registrations.append({**row, "id_number": other["id_number"], "name": other["name"]})
    names = [unit["name"] for unit in p.units]

    def payments(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            roll = rng.random()
            if roll < 0.05:
                out.append({**row, "unit_name": rng.choice(names)})
            elif roll < 0.1:
                out.append({**row, "region_code": "230102" if row["region_code"].startswith("15") else "150102"})
        return out

    statuses = [{**row, "since": None} for row in p.person_statuses if rng.random() < 0.5]
    versions = {
        "units": units,
        "registrations": registrations,
        "person_statuses": statuses,
        "contributions": payments(p.contributions),
        "deposits": payments(p.deposits),
    }
    return [Chunk(kind, tuple(rows), f"{kind}, earlier versions") for kind, rows in versions.items() if rows]


# --- steps: what arrives when, and when the matcher acts ---------------------------------------


@dataclass(frozen=True)
class Step:
    """upload/resend a chunk (by number); replay a chunk's records; retract an upload (by number, resends
    included); deliver one consumer batch (0: everything on the bus, else a random batch of that seed);
    evaluate the queue; set the review month (starting its sweep); sweep that many people (0: the rest)."""

    action: str
    arg: int | str = 0


def deliveries() -> st.SearchStrategy[Step]:
    return st.builds(Step, st.just("deliver"), st.integers(0, 2**16))


def rhythm(
    chunks: list[Chunk],
    uploads: list[int],
    *,
    corrections: bool,
    review_months: tuple[str, ...] = (),
) -> st.SearchStrategy[list[Step]]:
    """What may happen after an upload: deliveries and evaluations; with `corrections`, re-sent, replayed and
    retracted uploads; with `review_months`, a new review month and its sweep advancing."""
    options = [deliveries(), st.just(Step("evaluate"))]
    if corrections:
        sent = sorted(set(uploads))
        retractable = [n for n, chunk in enumerate(uploads) if chunks[chunk].kind in PERSON_KINDS]
        options += [st.builds(Step, st.just("resend"), st.sampled_from(sent))]
        options += [st.builds(Step, st.just("replay"), st.sampled_from(sent))]
        if retractable:
            options += [st.builds(Step, st.just("retract"), st.sampled_from(retractable))] * 2
    if review_months:
        options += [st.builds(Step, st.just("review_month"), st.sampled_from(review_months))]
        options += [st.builds(Step, st.just("sweep"), st.integers(1, 25))]
    return st.lists(st.one_of(options), max_size=4)


def uploads_of(steps: list[Step]) -> list[int]:
    """The chunk of each upload so far, in order (what a retraction's number refers to)."""
    return [int(step.arg) for step in steps if step.action in ("upload", "resend")]


def arrival(
    data: st.DataObject,
    chunks: list[Chunk],
    order: list[int],
    *,
    corrections: bool,
    review_months: tuple[str, ...] = (),
) -> list[Step]:
    steps: list[Step] = []
    for chunk in order:
        steps.append(Step("upload", chunk))
        steps += data.draw(
            rhythm(chunks, uploads_of(steps), corrections=corrections, review_months=review_months),
            label=f"after {chunks[chunk].label}",
        )
    return steps


def settle(data: st.DataObject) -> list[Step]:
    """The end: the rest of the bus in a few batches, then the sweep's rest and the queue, in either order."""
    steps = data.draw(st.lists(deliveries(), max_size=3), label="last batches")
    steps.append(Step("deliver"))
    sweep, queue = Step("sweep"), Step("evaluate")
    steps += [queue, sweep] if data.draw(st.booleans(), label="the queue before the sweep's rest") else [sweep, queue]
    return steps


# --- running and checking ----------------------------------------------------------------------


async def play(
    database_url: str, chunks: list[Chunk], steps: list[Step], review_month: str, scenario_of: dict[str, str]
) -> str | None:
    """Runs the steps; None when the findings standing are those from scratch, else what differs."""
    pg = await asyncpg.connect(database_url)
    try:
        sources, bus, matcher = Sources(), Bus(), Matcher(pg, review_month)
        await matcher.reset()
        for step in steps:
            arg = step.arg
            if step.action in ("upload", "resend"):
                bus.publish(sources.upload(chunks[int(arg)]))
            elif step.action == "replay":
                bus.publish(sources.replay(chunks[int(arg)]))
            elif step.action == "retract":
                bus.publish(sources.retract(int(arg)))
            elif step.action == "deliver":
                await matcher.consume(bus.take(Random(arg) if arg else None))
            elif step.action == "evaluate":
                await matcher.evaluate_queued()
            elif step.action == "review_month":
                await matcher.set_review_month(str(arg))
            elif step.action == "sweep":
                await matcher.sweep(int(arg) or None)
            else:
                raise AssertionError(step.action)
        assert len(bus) == 0, "the plan left events on the bus"
        stored, cleared = await matcher.stored()
    finally:
        await pg.close()
    return disagreement(stored, cleared, from_scratch(sources.held_province(), matcher.policy), scenario_of)


def describe(chunks: list[Chunk], steps: list[Step]) -> str:
    """The plan in words (labels and numbers only)."""
    out = []
    for step in steps:
        if step.action in ("upload", "resend", "replay"):
            chunk = chunks[int(step.arg)]
            out.append(f"{step.action} {chunk.label} ({len(chunk.rows)} rows)")
        else:
            out.append(f"{step.action} {step.arg}" if step.arg else step.action)
    return "\n".join(out)


def check(database_url: str, world: World, chunks: list[Chunk], steps: list[Step], review_month: str) -> None:
    note(describe(chunks, steps))
    try:
        problem = asyncio.run(play(database_url, chunks, steps, review_month, world.scenario_of))
    except Exception as error:  # its message or the traceback's arguments may hold records: where it failed only
        frames = traceback.extract_tb(error.__traceback__)[-8:]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
        code = getattr(error, "sqlstate", None)
        raise RuntimeError(f"{type(error).__name__}{f' ({code})' if code else ''} at {where}") from None
    if problem:
        raise AssertionError(problem)


@pytest.fixture
def matcher_db(service_database) -> str:
    return service_database(service).url


# --- the property, and the two arrivals the issue names ----------------------------------------


@settings(EXAMPLES, max_examples=100)
@given(data=st.data())
def test_findings_are_a_function_of_the_data_held_and_the_review_month(matcher_db: str, data: st.DataObject) -> None:
    w = world(data.draw(st.sampled_from(SEEDS), label="province seed"))
    kept = data.draw(st.lists(st.integers(0, 3), min_size=len(w.people), max_size=len(w.people)), label="0: left out")
    province = w.with_people(kept)
    split = data.draw(st.sampled_from(("by kind", "by month", "at random")), label="split")
    if split == "by kind":
        chunks = by_kind(province)
    elif split == "by month":
        chunks = by_month(province)
    else:
        chunks = at_random(province, data.draw(st.integers(0, 2**32 - 1), label="deal"), 4)
    if data.draw(st.booleans(), label="with earlier versions"):  # sent first, unless in random order
        chunks = earlier_versions(province, data.draw(st.integers(0, 2**32 - 1), label="versions")) + chunks
    order = list(range(len(chunks)))
    if data.draw(st.booleans(), label="in random order"):
        order = data.draw(st.permutations(order), label="order")
    start = data.draw(st.sampled_from(REVIEW_MONTHS), label="review month at the start")
    steps = [Step("review_month", start)]
    steps += arrival(data, chunks, order, corrections=True, review_months=REVIEW_MONTHS)
    check(matcher_db, w, chunks, steps + settle(data), start)


@settings(EXAMPLES, max_examples=12)
@given(data=st.data())
def test_month_by_month_arrival_with_the_review_month_fixed(matcher_db: str, data: st.DataObject) -> None:
    w = world(data.draw(st.sampled_from(SEEDS), label="province seed"))
    chunks = by_month(w.province)
    steps = [Step("review_month", FINAL_MONTH)]
    steps += arrival(data, chunks, list(range(len(chunks))), corrections=False)
    check(matcher_db, w, chunks, steps + settle(data), FINAL_MONTH)


@settings(EXAMPLES, max_examples=12)
@given(data=st.data())
def test_the_review_month_advancing_a_month_at_a_time(matcher_db: str, data: st.DataObject) -> None:
    """A campaign: each month the review month moves on (its sweep re-evaluating everyone), and that month's
    社保 and 公积金 arrive, the sweep running before, between or after the uploads."""
    w = world(data.draw(st.sampled_from(SEEDS), label="province seed"))
    chunks = by_month(w.province)
    first_months = [n for n, chunk in enumerate(chunks) if chunk.month is None]
    steps = [Step("review_month", CAMPAIGN[0])]
    steps += arrival(data, chunks, first_months, corrections=False)
    for month in CAMPAIGN:
        uploads = [n for n, chunk in enumerate(chunks) if chunk.month == month]
        set_at = data.draw(st.integers(0, len(uploads)), label=f"{month} set before upload")
        swept_at = data.draw(st.integers(set_at, len(uploads)), label=f"{month} swept before upload")
        for position in range(len(uploads) + 1):
            if position == set_at:
                steps.append(Step("review_month", month))
            if position == swept_at:
                steps.append(Step("sweep"))
            if position < len(uploads):
                steps += arrival(data, chunks, [uploads[position]], corrections=False)
    check(matcher_db, w, chunks, steps + settle(data), CAMPAIGN[0])


# --- a known defect ---------------------------------------------------------------------------


async def corrected_out_of_order(database_url: str, w: World) -> str | None:
    """A certificate first recorded under another person, then corrected to its holder; the correction's
    partition consumed before the first recording's."""
    p = w.province
    holder = w.person_in("paid_by_other_enterprise")  # SI_UNIT_MISMATCH: paid by another enterprise
    other = w.person_in(CONSISTENT)
    certificate = next(row for row in p.registrations if row["id_number"] == holder)
    other_name = next(row["name"] for row in p.registrations if row["id_number"] == other)
    recorded = [
        {**row, "id_number": other, "name": other_name} if row is certificate else row for row in p.registrations
    ]
    pg = await asyncpg.connect(database_url)
    try:
        sources, matcher = Sources(), Matcher(pg, FINAL_MONTH)
        await matcher.reset()
        for chunk in by_kind(p):
            if chunk.kind != "registrations":
                await matcher.consume(sources.upload(chunk))
        first = sources.upload(Chunk("registrations", tuple(recorded), "registrations as first recorded"))
        correction = sources.upload(Chunk("registrations", (certificate,), "the certificate corrected"))
        [moved] = [event for event in first if getattr(event, "certificate_no", None) == certificate["certificate_no"]]
        # The registry keys a registration's events by its holder: the two states travel in two partitions.
        assert {getattr(moved, "person_ref", None)} != {getattr(event, "person_ref", None) for event in correction}
        await matcher.consume(correction)
        await matcher.consume(first)
        await matcher.evaluate_queued()
        stored, cleared = await matcher.stored()
    finally:
        await pg.close()
    expected = from_scratch(sources.held_province(), matcher.policy)
    return disagreement(stored, cleared, expected, w.scenario_of)


def test_a_certificate_corrected_to_its_holder_stays_with_it(matcher_db: str) -> None:
    """A certificate first recorded under another person and corrected to its holder: the registry keys a
    registration's events by its holder (registry_svc.events.REGISTRATIONS), so the two states travel in two
    partitions, which the consumer applies each on their own. Consumed correction first, the matcher kept the
    older state until the registry numbered its writes (`RegistrationRecordedV1.revision`): the holder's
    SI_UNIT_MISMATCH went missing and the other person had a MULTI_REGISTRATION, until the certificate changed
    again. The property test above draws such corrections too.
    """
    problem = asyncio.run(corrected_out_of_order(matcher_db, world(SEEDS[0])))
    assert problem is None, problem
