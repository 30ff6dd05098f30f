"""Feeds reaching the matcher in-process, in whatever order, chunking and rhythm a test chooses: what the
registry, insurance and fund services hold and publish (`Sources`), a bus delivering their events in batches
(`Bus`), the matcher's consumer, evaluation worker and review-month sweep acting on them (`Matcher`), and the
findings one evaluation from scratch makes of the data finally held (`from_scratch`).

No Kafka, no HTTP: the services' payload models, the matcher's handlers and its evaluation, driven step by step.
Nothing here prints an ID number or a name: findings are compared by pseudonymous person key.
"""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from random import Random
from typing import Any

import asyncpg
import orjson
from projection import to_domain

from devtools.feeds import person_key
from devtools.synthetic import SyntheticProvince
from domain.identifiers import birth_date_from_id, unit_kind_from_uscc
from kernel.consumer import latest_payloads
from kernel.events import (
    ContributionMonthV1,
    ContributionsRecordedV1,
    DepositsRecordedV1,
    EventPayload,
    PaidMonthV1,
    PersonStatusRecordedV1,
    PersonStatusV1,
    RegistrationRecordedV1,
    UnitRecordedV1,
)
from kernel.privacy import mask_id_number
from matcher_svc import evaluation_worker, findings
from matcher_svc.consumers import PROJECTION_HANDLERS
from matcher_svc.domain import Policy, Rule
from matcher_svc.rules import ACTIVE, evaluate

KINDS = ("units", "registrations", "contributions", "deposits", "person_statuses")
# Records the insurance and fund services hold per person: published one event per person, retractable by batch.
PERSON_KINDS = frozenset({"contributions", "deposits", "person_statuses"})
MATCHER_TABLES = (
    "findings",
    "units",
    "registrations",
    "people",
    "person_payments",
    "data_months",
    "data_month_changes",
    "person_statuses",
    "granted_exemptions",
    "pending_evaluations",
    "processed_events",
    "outbox",
    "matcher_state",
    "sweeps",
    "sweep_parts",
)


def row_key(kind: str, row: dict[str, Any]) -> tuple[Any, ...]:
    """A record's identity in the service holding it (its table's primary key)."""
    if kind == "units":
        return (row["uscc"],)
    if kind == "registrations":
        return (row["category"], row["certificate_no"])
    if kind == "contributions":
        return (row["id_number"], row["unit_uscc"], row["period"], row["insurance_type"])
    if kind == "deposits":
        return (row["id_number"], row["unit_uscc"], row["period"])
    return (row["id_number"], row["status"])


@dataclass(frozen=True, repr=False)
class Chunk:
    """One upload: rows of one kind. `label` says what it covers (kind, province, month), never whom."""

    kind: str
    rows: tuple[dict[str, Any], ...]
    label: str
    month: str | None = None  # the month of the payments it carries, when it carries one month's

    def __repr__(self) -> str:  # a failure's traceback shows arguments: never the rows
        return f"Chunk({self.label}, {len(self.rows)} rows)"


@dataclass(repr=False)
class Held:
    row: dict[str, Any]
    batch_id: str
    written: int  # when it was last written: the latest written name and region win, as in ingest.payments
    retracted: bool = False

    def __repr__(self) -> str:
        return f"Held(batch {self.batch_id}, write {self.written}{', retracted' if self.retracted else ''})"


class Sources:
    """What the registry, insurance and fund services hold, and the events they publish.

    As the services do: an upload writes only rows that are new, changed or retracted (a re-sent unchanged
    row keeps its batch) and publishes the current state of every record (registry) or person (insurance,
    fund) it wrote; a retraction marks the rows its batch last wrote and publishes their people's state
    without them; a replay publishes the current state again.
    """

    def __init__(self) -> None:
        self.held: dict[str, dict[tuple[Any, ...], Held]] = {kind: {} for kind in KINDS}
        self.of_person: dict[str, dict[str, set[tuple[Any, ...]]]] = {kind: defaultdict(set) for kind in PERSON_KINDS}
        self.batches: list[tuple[str, str]] = []  # (kind, batch id) per upload, in order
        self._writes = 0

    def upload(self, chunk: Chunk) -> list[EventPayload]:
        batch_id = str(uuid.UUID(int=len(self.batches) + 1))
        self.batches.append((chunk.kind, batch_id))
        held = self.held[chunk.kind]
        written = set()
        for row in chunk.rows:
            key = row_key(chunk.kind, row)
            current = held.get(key)
            if current is None or current.retracted or current.row != row:
                self._writes += 1
                held[key] = Held(row, batch_id, self._writes)
                if chunk.kind in PERSON_KINDS:
                    self.of_person[chunk.kind][row["id_number"]].add(key)
                written.add(self._identity(chunk.kind, key))
        return self._publish(chunk.kind, written)

    def retract(self, upload: int) -> list[EventPayload]:
        kind, batch_id = self.batches[upload]
        assert kind in PERSON_KINDS, kind
        touched = set()
        for key, held in self.held[kind].items():
            if held.batch_id == batch_id and not held.retracted:
                held.retracted = True
                touched.add(self._identity(kind, key))
        return self._publish(kind, touched)

    def replay(self, chunk: Chunk) -> list[EventPayload]:
        held = self.held[chunk.kind]
        keys = (row_key(chunk.kind, row) for row in chunk.rows)
        return self._publish(chunk.kind, {self._identity(chunk.kind, key) for key in keys if key in held})

    def current(self, kind: str) -> list[dict[str, Any]]:
        """The rows held now (retracted ones left out), in key order. A person's payment rows of one unit and
        month (one row an insurance type) are one paying unit with one name and region, the latest written row's,
        as the service states them (ingest.payments): the others' are shown as that row's."""
        rows = [held for _, held in sorted(self.held[kind].items()) if not held.retracted]
        if kind not in ("contributions", "deposits"):
            return [held.row for held in rows]
        latest: dict[tuple[str, str, str], Held] = {}
        for held in rows:
            month = (held.row["id_number"], held.row["period"], held.row["unit_uscc"])
            if month not in latest or held.written > latest[month].written:
                latest[month] = held
        paying = (latest[h.row["id_number"], h.row["period"], h.row["unit_uscc"]].row for h in rows)
        return [
            {**held.row, "unit_name": unit["unit_name"], "region_code": unit["region_code"]}
            for held, unit in zip(rows, paying, strict=True)
        ]

    def held_province(self) -> SyntheticProvince:
        """The data finally held, as a province (`projection.to_domain` takes one)."""
        rows = {kind: self.current(kind) for kind in KINDS}
        return SyntheticProvince(
            units=rows["units"],
            registrations=rows["registrations"],
            contributions=rows["contributions"],
            person_statuses=rows["person_statuses"],
            deposits=rows["deposits"],
        )

    # --- events -------------------------------------------------------------------------------

    @staticmethod
    def _identity(kind: str, key: tuple[Any, ...]) -> Any:
        return key if kind == "registrations" else key[0]

    def _publish(self, kind: str, identities: Iterable[Any]) -> list[EventPayload]:
        out: list[EventPayload] = []
        for identity in sorted(identities):
            if kind == "units":
                out.append(_unit_event(self.held[kind][(identity,)]))
            elif kind == "registrations":
                out.append(_registration_event(self.held[kind][identity]))
            else:
                rows = [self.held[kind][key] for key in sorted(self.of_person[kind][identity])]
                name = rows[-1].row["name"]  # the person's, as the service's persons table holds it
                out.append(_person_event(kind, identity, name, [h for h in rows if not h.retracted]))
        return out


def _unit_event(held: Held) -> UnitRecordedV1:
    row = held.row
    return UnitRecordedV1(
        uscc=row["uscc"],
        name=row["name"],
        former_names=list(row.get("former_names") or []),
        kind=row.get("kind") or unit_kind_from_uscc(row["uscc"]).value,
        head_office_uscc=row.get("head_office_uscc"),
        region_code=row["region_code"],
        batch_id=held.batch_id,
    )


def _registration_event(held: Held) -> RegistrationRecordedV1:
    row = held.row
    return RegistrationRecordedV1(
        person_ref=person_key(row["id_number"]),
        masked_id=mask_id_number(row["id_number"]),
        name=row["name"],
        birth_date=birth_date_from_id(row["id_number"]),
        category=row["category"],
        specialty=row.get("specialty"),
        certificate_no=row["certificate_no"],
        seal_no=row.get("seal_no"),
        unit_name=row["unit_name"],
        unit_uscc=row.get("unit_uscc") or None,
        region_code=row["region_code"],
        registered_on=row.get("registered_on"),
        valid_until=row.get("valid_until"),
        status=row["status"],
        batch_id=held.batch_id,
        revision=held.written,  # as the registry's revisions: larger for every later write
    )


def _person_event(kind: str, id_number: str, name: str, rows: list[Held]) -> EventPayload:
    """A person's whole current record of `kind` (`rows`: those not retracted), as ingest.person_records renders it."""
    ref, masked = person_key(id_number), mask_id_number(id_number)
    if kind == "person_statuses":
        statuses = [
            PersonStatusV1(status=h.row["status"], since=h.row.get("since"), batch_id=h.batch_id)
            for h in sorted(rows, key=lambda h: h.row["status"])
        ]
        return PersonStatusRecordedV1(person_ref=ref, masked_id=masked, name=name, statuses=statuses)
    # One paying unit per (period, unit): the latest written row's name, region and batch; all insurance types.
    grouped: dict[tuple[str, str], list[Held]] = defaultdict(list)
    for h in rows:
        grouped[h.row["period"], h.row["unit_uscc"]].append(h)
    months: list[dict[str, Any]] = []
    for (period, uscc), group in sorted(grouped.items()):
        latest = max(group, key=lambda h: h.written)
        month: dict[str, Any] = {
            "period": period,
            "unit_uscc": uscc,
            "unit_name": latest.row["unit_name"],
            "region_code": latest.row["region_code"],
            "batch_id": latest.batch_id,
        }
        if kind == "contributions":
            month["insurance_types"] = sorted(h.row["insurance_type"] for h in group)
        months.append(month)
    if kind == "contributions":
        return ContributionsRecordedV1(
            person_ref=ref, masked_id=masked, name=name, months=[ContributionMonthV1(**m) for m in months]
        )
    return DepositsRecordedV1(person_ref=ref, masked_id=masked, name=name, months=[PaidMonthV1(**m) for m in months])


class Bus:
    """Topics of a few partitions each (keyed as the services key them): order is kept within a partition
    only, so one record's states arrive in order, and everything else in any order."""

    PARTITIONS = 3

    def __init__(self) -> None:
        self.partitions: dict[tuple[str, int], deque[EventPayload]] = defaultdict(deque)

    def publish(self, payloads: Iterable[EventPayload]) -> None:
        for payload in payloads:
            key = payload.uscc if isinstance(payload, UnitRecordedV1) else payload.person_ref  # type: ignore[attr-defined]
            self.partitions[payload.topic, zlib.crc32(key.encode()) % self.PARTITIONS].append(payload)

    def __len__(self) -> int:
        return sum(len(queue) for queue in self.partitions.values())

    def take(self, rng: Random | None = None) -> list[EventPayload]:
        """One consumer batch: every partition's events (`rng` None), or of each partition a random number
        from its head (none, all, or some)."""
        batch: list[EventPayload] = []
        for _, queue in sorted(self.partitions.items()):
            count = len(queue) if rng is None else rng.choice((0, len(queue), rng.randint(0, len(queue))))
            batch += (queue.popleft() for _ in range(count))
        return batch


class Matcher:
    """The matcher's consumer, evaluation worker and review-month sweep on one connection, as the service runs
    them: a batch applies each model's latest payloads per identity in the handlers' order in one transaction;
    the worker evaluates the queue; a new review month sweeps every registered person in key order."""

    def __init__(self, pg: asyncpg.Connection, review_month: str) -> None:
        self.pg = pg
        self.policy = Policy(review_month=review_month)
        self.sweep_after: str | None = None  # the running sweep's last person, None when none runs

    async def reset(self) -> None:
        await self.pg.execute(f"TRUNCATE {', '.join(MATCHER_TABLES)}")

    async def consume(self, payloads: Sequence[EventPayload]) -> None:
        if not payloads:
            return
        by_model: dict[type[EventPayload], list[EventPayload]] = defaultdict(list)
        for payload in payloads:
            by_model[type(payload)].append(payload)
        async with self.pg.transaction():
            for model, handler in PROJECTION_HANDLERS.items():
                if by_model.get(model):
                    await handler(self.pg, latest_payloads(model, by_model[model]))

    async def fold(self) -> None:
        """What the worker does before it looks at the queue: counts the 社保 months batches noted, and queues whoever
        a month that arrived or went away concerns."""
        await evaluation_worker.fold_data_months(self.pg)

    async def evaluate_queued(self) -> None:
        async with self.pg.transaction():
            await self.fold()
            keys = [
                row["person_key"]
                for row in await self.pg.fetch("SELECT person_key FROM pending_evaluations ORDER BY person_key")
            ]
            await findings.evaluate_people(self.pg, keys, self.policy)
            await self.pg.execute("DELETE FROM pending_evaluations WHERE person_key = ANY($1)", keys)

    async def set_review_month(self, month: str) -> None:
        """A new review month: the policy changes at once, and a sweep of everyone starts (`sweep`)."""
        self.policy = Policy(review_month=month)
        self.sweep_after = ""

    async def sweep(self, people: int | None = None) -> None:
        """Evaluates the running sweep's next `people` (None: all the rest) in one transaction, as one of
        its chunks."""
        if self.sweep_after is None:
            return
        async with self.pg.transaction():
            keys = [
                row["person_key"]
                for row in await self.pg.fetch(
                    "SELECT DISTINCT person_key FROM registrations WHERE person_key > $1 ORDER BY person_key LIMIT $2",
                    self.sweep_after,
                    people,
                )
            ]
            await findings.evaluate_people(self.pg, keys, self.policy)
        if people is None or len(keys) < people:
            self.sweep_after = None
        else:
            self.sweep_after = keys[-1]

    async def stored(self) -> tuple[set[FindingKey], set[tuple[str, str]]]:
        """The findings that stand (open or exempted), and the (person, rule) of the cleared ones."""
        standing: set[FindingKey] = set()
        cleared: set[tuple[str, str]] = set()
        for row in await self.pg.fetch("SELECT person_key, rule, status, exemption, evidence FROM findings"):
            if row["status"] == "cleared":
                cleared.add((row["person_key"], row["rule"]))
            else:
                evidence = orjson.loads(row["evidence"])
                standing.add(finding_key(row["person_key"], row["rule"], row["status"], row["exemption"], evidence))
        return standing, cleared


# (person_key, rule, status, exemption, evidence's review month, months, and SI_NONE's data_months)
FindingKey = tuple[str, str, str, str | None, str, tuple[str, ...], tuple[str, ...] | None]


def finding_key(person: str, rule: str, status: str, exemption: str | None, evidence: dict[str, Any]) -> FindingKey:
    data_months = tuple(evidence["data_months"]) if rule == Rule.SI_NONE.value else None
    return (person, rule, status, exemption, evidence["review_month"], tuple(evidence["months"]), data_months)


def from_scratch(province: SyntheticProvince, policy: Policy) -> set[FindingKey]:
    """One evaluation of the data held: the rule catalog on every registered person, each with the months for
    which any held contribution was paid in the province of one of their active registrations (SI_NONE's
    definition of the 社保 data having arrived)."""
    people, directory = to_domain(province)
    provinces_of_month: dict[str, set[str]] = defaultdict(set)
    for row in province.contributions:
        provinces_of_month[row["period"]].add(row["region_code"][:2])
    out: set[FindingKey] = set()
    for person in people:
        provinces = {r.region_code[:2] for r in person.registrations if r.status == ACTIVE}
        covered = frozenset(month for month, seen in provinces_of_month.items() if seen & provinces)
        for f in evaluate(replace(person, insurance_data_months=covered), directory, policy):
            exemption = f.exemption.value if f.exemption else None
            out.add(finding_key(person.person_key, f.rule.value, f.status, exemption, f.evidence))
    return out


def disagreement(
    stored: set[FindingKey], cleared: set[tuple[str, str]], expected: set[FindingKey], scenario_of: dict[str, str]
) -> str | None:
    """None when the stored findings are the expected ones; else what differs, by person key, scenario, rule and
    months (never an ID number or a name)."""
    missing, extra = sorted(expected - stored), sorted(stored - expected)
    wrongly_cleared = sorted(cleared & {(key[0], key[1]) for key in expected})
    if not (missing or extra or wrongly_cleared):
        return None

    def show(key: FindingKey) -> str:
        person, rule, status, exemption, month, months, data_months = key
        scenario = scenario_of.get(person, "?")
        shown = f"{person} ({scenario}) {rule} {status}{f' ({exemption})' if exemption else ''} at {month} months={list(months)}"
        return shown + (f" data_months={list(data_months)}" if data_months is not None else "")

    lines = [f"{len(stored)} findings stand, {len(expected)} expected from scratch"]
    lines += [f"{len(missing)} missing (expected, not stored):", *(f"  {show(k)}" for k in missing[:12])]
    lines += [f"{len(extra)} extra (stored, not expected):", *(f"  {show(k)}" for k in extra[:12])]
    lines += [f"{len(wrongly_cleared)} cleared though they fire:", *(f"  {p} {r}" for p, r in wrongly_cleared[:12])]
    return "\n".join(lines)
