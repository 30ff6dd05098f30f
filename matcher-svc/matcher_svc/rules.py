"""The rule catalog (DOMAIN §6): `evaluate(person, units, policy)` → the findings that fire, with evidence.

Only persons with at least one ``active`` registration are evaluated; the data considered is the
window of the last ``policy.window_months`` months up to and including the review month M
(anything outside it is ignored). Each rule fires at most once per person.

Policy choices made here (the regulations leave them open):

* **Severity** (`SEVERITY`): *high* for what points at 挂证 directly or breaks a bar outright
  (SI unit mismatch, registration at two units, a public body paying); *medium* for strong but
  weaker leads (fund mismatch, several SI payers, an HR agency paying, over age); *low* for
  what often has an innocent reason (no SI at all, several fund payers).
* **Exemptions never drop a finding**: it is kept with status ``exempted`` and the exemption
  that applies. When several apply, a grant from case handling wins (a decision with evidence),
  then RETIRED, SI_BOUGHT_OUT, BRANCH_OFFICE; ``evidence["exemptions"]`` lists all of them.
  RETIRED applies to the rules named ``SI_*`` and ``FUND_*`` only, as DOMAIN §6 writes it (not
  to PUBLIC_SECTOR_SI, HR_AGENCY_SI, MULTI_REGISTRATION or AGE_OVER_LIMIT). A person status
  counts when it started by the end of M (or has no date).
* **The 65th birthday** of someone born on 29 February is 1 March in a non-leap year: they
  have not completed 65 years on 28 February (`anniversary`). A birth date of ``date.min``
  (unknown, as the projection loads it) never fires AGE_OVER_LIMIT.
* **region_code** is the region of the active registration registered last.
* **SI_NONE needs the data to have arrived**: it fires only when the 社保 feed has delivered data
  for the person's province (the first two digits of an active registration's region) for at least
  one month of the window (`Person.insurance_data_months`: months for which contributions are held,
  so a retracted file no longer counts); the evidence lists those months. An
  absence of payments proves nothing before the centre has sent its file: the registry's feed
  often arrives days before the insurance centre's. (Province, since 社保 is pooled and delivered
  at provincial level.)

Evidence is a JSON-serialisable dict with the same keys across rules, deterministic (sorted)
so that an unchanged finding compares equal on re-evaluation:
``rule_set_version``, ``review_month``, ``masked_id``, ``source`` (insurance / fund / registry),
``window`` {from, to}, ``months`` (considered by the rule), ``registered`` (active registrations:
unit name, USCC, what the name resolved to and how, certificate), ``paid`` (per month: the
paying units with USCC, name, kind, whether and how they are the registered unit, hints),
``hints``, ``batch_ids``; plus rule-specific keys (``units``, ``birth_date``, ``limit_date``,
``exemptions``, ``granted``, ``person_status``, ``suggested_exemption``), and ``id_checksum_failed``:
true when the person's ID number fails its check character (a feed client's profile accepted it), so the
officer checks who the person is before anything else.

Speed: a sweep evaluates ~100k people, so data is indexed by month once, each distinct payer
is looked up and resolved once per person, and evidence is built only for rules that fire.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from domain.categories import AGE_LIMITED
from domain.identifiers import UnitKind, is_public_body_uscc, normalize_unit_name, unit_kind_from_uscc
from matcher_svc.domain import (
    Exemption,
    Finding,
    PaidMonth,
    Person,
    Policy,
    Registration,
    Rule,
    Severity,
    Unit,
    UnitDirectory,
)
from matcher_svc.resolution import RegisteredUnit, prepare, related_as_branch, resolve_prepared

SEVERITY: Final[dict[Rule, Severity]] = {
    Rule.SI_UNIT_MISMATCH: "high",
    Rule.MULTI_REGISTRATION: "high",
    Rule.PUBLIC_SECTOR_SI: "high",
    Rule.FUND_UNIT_MISMATCH: "medium",
    Rule.SI_MULTIPLE_UNITS: "medium",
    Rule.HR_AGENCY_SI: "medium",
    Rule.AGE_OVER_LIMIT: "medium",
    Rule.SI_NONE: "low",
    Rule.FUND_MULTIPLE_UNITS: "low",
}

SOURCE_INSURANCE: Final = "insurance"
SOURCE_FUND: Final = "fund"
SOURCE_REGISTRY: Final = "registry"

ACTIVE: Final = "active"
RETIRED_STATUSES: Final = frozenset({"retired", "early_retired"})
BOUGHT_OUT_STATUS: Final = "bought_out"
# RETIRED covers the rules on insurance and fund payers named SI_* / FUND_* (DOMAIN §6).
RETIRED_RULES: Final = frozenset(rule for rule in Rule if rule.value.startswith(("SI_", "FUND_")))
PUBLIC_KINDS: Final = frozenset(
    {UnitKind.government.value, UnitKind.public_institution.value, UnitKind.university.value}
)
HR_AGENCY_KIND: Final = UnitKind.hr_agency.value
# A 事业单位 paying suggests (never grants) the exemption case handling may grant with evidence.
SUGGESTED_EXEMPTION: Final = {
    UnitKind.university.value: Exemption.UNIVERSITY_STAFF,
    UnitKind.public_institution.value: Exemption.INSTITUTION_REFORM,
}
SUGGESTION_RULES: Final = frozenset({Rule.SI_UNIT_MISMATCH, Rule.PUBLIC_SECTOR_SI})
_AUTO_ORDER: Final = (Exemption.RETIRED, Exemption.SI_BOUGHT_OUT, Exemption.BRANCH_OFFICE)


def anniversary(birth: date, years: int) -> date:
    """The day `birth` turns `years` old; 29 February → 1 March in a non-leap year."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February, target year not a leap year
        return date(birth.year + years, 3, 1)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True, slots=True)
class _Calendar:
    months: tuple[str, ...]  # the window, oldest first, ending with M
    month_set: frozenset[str]
    first_day: date  # first day of M
    after: date  # first day of the month after M


@functools.lru_cache(maxsize=64)
def _calendar(review_month: str, window_months: int) -> _Calendar:
    digits = review_month.replace("-", "").strip()
    year, month = int(digits[:4]), int(digits[4:6])
    if not 1 <= month <= 12 or window_months < 1:
        raise ValueError(f"bad review month {review_month!r} or window {window_months}")
    index = year * 12 + month - 1
    months = tuple(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - window_months + 1, index + 1))
    return _Calendar(months, frozenset(months), date(year, month, 1), date((index + 1) // 12, (index + 1) % 12 + 1, 1))


class _Payer:
    """One paying unit (by USCC) in a person's window, resolved against the active registrations once."""

    __slots__ = ("_branch", "hints", "how", "kind", "name", "names", "same", "unit", "uscc")

    def __init__(self, uscc: str, name: str, unit: Unit | None) -> None:
        self.uscc = uscc
        self.name = unit.name if unit is not None else name
        self.unit = unit
        self.kind = (
            unit.kind if unit is not None else (unit_kind_from_uscc(uscc).value if uscc else UnitKind.other.value)
        )
        self.names: set[str] = set()
        self.same = False
        self.how = "different"
        self.hints: list[str] = []
        self._branch: bool | None = None

    def add_name(self, name: str, registered: list[RegisteredUnit], units: UnitDirectory) -> None:
        """Resolves the payer under one more record name (usually there is one)."""
        self.names.add(name)
        if self.same:
            return
        for reg in registered:
            res = resolve_prepared(reg, self.uscc, name, units, self.unit)
            if res.same:
                self.same, self.how, self.hints = True, res.how, []
                return
            if res.hint is not None and res.hint not in self.hints:
                self.hints.append(res.hint)

    def branch(self, registered: list[RegisteredUnit], units: UnitDirectory) -> bool:
        """Whether this payer is the head office or a branch of a registered unit."""
        if self._branch is None:
            self._branch = bool(self.uscc) and any(
                related_as_branch(self.uscc, reg.resolved_uscc, units) for reg in registered
            )
        return self._branch


# rows of one source in the window: period → payer key (USCC, else normalised name) → rows
_ByMonth = dict[str, dict[str, list[PaidMonth]]]


def _index(rows: tuple[PaidMonth, ...], window: frozenset[str]) -> _ByMonth:
    out: _ByMonth = {}
    for row in rows:
        period = row.period
        if period not in window and (len(period) != 6 or (period := f"{period[:4]}-{period[4:]}") not in window):
            continue  # outside the window (a YYYYMM period is read as YYYY-MM)
        key = row.unit_uscc or "name:" + normalize_unit_name(row.unit_name)
        month = out.get(period)
        if month is None:
            out[period] = {key: [row]}
        elif key in month:
            month[key].append(row)
        else:
            month[key] = [row]
    return out


class _Evaluation:
    def __init__(self, person: Person, units: UnitDirectory, policy: Policy, active: list[Registration]) -> None:
        self.person = person
        self.units = units
        self.policy = policy
        self.calendar = _calendar(policy.review_month, policy.window_months)
        self.active = active
        self.registered = [prepare(reg, units) for reg in active]
        latest = max(active, key=lambda reg: reg.registered_on or date.min)
        self.region_code = latest.region_code
        self.start_month = month_of(latest.registered_on) if latest.registered_on else ""
        self.si = _index(person.contributions, self.calendar.month_set)
        self.fund = _index(person.deposits, self.calendar.month_set)
        self.si_months = sorted(self.si)
        self.fund_months = sorted(self.fund)
        self.payers: dict[str, _Payer] = {}
        self.findings: list[Finding] = []

    # --- payers -------------------------------------------------------------------------

    def payers_of(self, month: dict[str, list[PaidMonth]]) -> list[_Payer]:
        out = []
        for key, rows in month.items():
            payer = self.payers.get(key)
            if payer is None:
                first = rows[0]
                unit = self.units.by_uscc(first.unit_uscc) if first.unit_uscc else None
                payer = self.payers[key] = _Payer(first.unit_uscc, first.unit_name, unit)
            for row in rows:
                if row.unit_name not in payer.names:
                    payer.add_name(row.unit_name, self.registered, self.units)
            out.append(payer)
        return out

    # --- the rules ----------------------------------------------------------------------

    def run(self) -> list[Finding]:
        self.unit_mismatch(Rule.SI_UNIT_MISMATCH, self.si, self.si_months, SOURCE_INSURANCE)
        self.multiple_units(Rule.SI_MULTIPLE_UNITS, self.si, self.si_months, SOURCE_INSURANCE)
        if not self.si and (covered := self.insurance_data_months()):
            # paid: {}; data_months: the months whose 社保 data arrived, so the absence is evidence
            self.emit(Rule.SI_NONE, SOURCE_INSURANCE, self.calendar.months, self.si, {"data_months": covered})
        self.unit_mismatch(Rule.FUND_UNIT_MISMATCH, self.fund, self.fund_months, SOURCE_FUND)
        self.multiple_units(Rule.FUND_MULTIPLE_UNITS, self.fund, self.fund_months, SOURCE_FUND)
        if len(self.active) > 1:
            self.multi_registration()
        if self.si_months:
            self.latest_si_payers()
        self.age_over_limit()
        return self.findings

    def insurance_data_months(self) -> list[str]:
        """The window's months for which the 社保 feed has delivered data for this person's province."""
        if self.person.insurance_data_months is None:
            return list(self.calendar.months)
        return [m for m in self.calendar.months if m in self.person.insurance_data_months]

    def unit_mismatch(self, rule: Rule, by_month: _ByMonth, data_months: list[str], source: str) -> None:
        """No paying unit is a registered unit in each of the last `mismatch_months` months with data,
        months before the latest registration's month skipped."""
        need = self.policy.mismatch_months
        months = [m for m in data_months if m >= self.start_month] if self.start_month else data_months
        if need < 1 or len(months) < need:
            return
        months = months[-need:]
        payers: dict[int, _Payer] = {}
        for month in months:
            for payer in self.payers_of(by_month[month]):
                if payer.same:
                    return
                payers[id(payer)] = payer
        auto = []
        if all(payer.branch(self.registered, self.units) for payer in payers.values()):
            auto.append(Exemption.BRANCH_OFFICE)
        extra: dict[str, Any] = {}
        if rule in SUGGESTION_RULES:
            self.suggest(payers.values(), extra)
        self.emit(rule, source, months, by_month, extra, auto)

    def multiple_units(self, rule: Rule, by_month: _ByMonth, data_months: list[str], source: str) -> None:
        """Two or more units pay in the latest month with data."""
        if data_months and len(by_month[data_months[-1]]) >= 2:
            self.emit(rule, source, data_months[-1:], by_month)

    def latest_si_payers(self) -> None:
        """PUBLIC_SECTOR_SI and HR_AGENCY_SI: who pays social insurance in the latest month with data."""
        month = self.si_months[-1]
        payers = self.payers_of(self.si[month])
        public = [p for p in payers if not p.same and (p.kind in PUBLIC_KINDS or is_public_body_uscc(p.uscc))]
        if public:
            extra: dict[str, Any] = {"public_payers": sorted(p.uscc for p in public)}
            self.suggest(public, extra)
            self.emit(Rule.PUBLIC_SECTOR_SI, SOURCE_INSURANCE, [month], self.si, extra)
        agencies = [p for p in payers if p.kind == HR_AGENCY_KIND]
        if agencies:
            extra = {"hr_agencies": sorted(p.uscc for p in agencies)}
            self.emit(Rule.HR_AGENCY_SI, SOURCE_INSURANCE, [month], self.si, extra)

    def multi_registration(self) -> None:
        """Active registrations at two or more different units."""
        groups: list[list[int]] = []
        for i, reg in enumerate(self.registered):
            matching = [g for g in groups if any(_same_registered(reg, self.registered[j], self.units) for j in g)]
            merged = [i]
            for group in matching:
                merged.extend(group)
                groups.remove(group)
            groups.append(sorted(merged))
        if len(groups) < 2:
            return
        units = []
        for group in groups:
            first = self.registered[group[0]]
            units.append(
                {
                    "name": first.name,
                    "uscc": first.resolved_uscc,
                    "certificate_nos": sorted(self.active[j].certificate_no for j in group),
                }
            )
        units.sort(key=lambda u: (u["uscc"] or "", u["name"]))
        self.emit(Rule.MULTI_REGISTRATION, SOURCE_REGISTRY, [], None, {"units": units})

    def age_over_limit(self) -> None:
        """A registration in an age-limited category, and the 65th birthday is before the first day of M."""
        birth = self.person.birth_date
        if birth is None or birth == date.min:
            return
        limited = [i for i, reg in enumerate(self.active) if reg.category in AGE_LIMITED]
        if not limited:
            return
        limit_date = anniversary(birth, self.policy.age_limit_years)
        if limit_date < self.calendar.first_day:
            extra = {
                "birth_date": birth.isoformat(),
                "limit_date": limit_date.isoformat(),
                "age_limit_years": self.policy.age_limit_years,
            }
            self.emit(Rule.AGE_OVER_LIMIT, SOURCE_REGISTRY, [], None, extra, registered=limited)

    # --- exemptions and evidence ----------------------------------------------------------

    def suggest(self, payers: Iterable[_Payer], extra: dict[str, Any]) -> None:
        """evidence["suggested_exemption"] when a 事业单位 pays (a university first); never changes the status."""
        kinds = {p.kind for p in payers}  # a payer absent from the directory has its USCC prefix's kind
        for kind in (UnitKind.university.value, UnitKind.public_institution.value):
            if kind in kinds:
                extra["suggested_exemption"] = SUGGESTED_EXEMPTION[kind].value
                return

    def status(self, wanted: frozenset[str] | str) -> dict[str, Any] | None:
        """The first person status among `wanted` that started by the end of M (or has no date)."""
        for s in self.person.statuses:
            if (s.status in wanted if isinstance(wanted, frozenset) else s.status == wanted) and (
                s.since is None or s.since < self.calendar.after
            ):
                return {"status": s.status, "since": s.since.isoformat() if s.since else None}
        return None

    def emit(
        self,
        rule: Rule,
        source: str,
        months: Sequence[str],
        by_month: _ByMonth | None,
        extra: dict[str, Any] | None = None,
        auto: list[Exemption] | None = None,
        registered: list[int] | None = None,
    ) -> None:
        auto = list(auto or ())
        person_status = None
        if rule in RETIRED_RULES and (person_status := self.status(RETIRED_STATUSES)) is not None:
            auto.append(Exemption.RETIRED)
        if rule is Rule.SI_NONE and (bought := self.status(BOUGHT_OUT_STATUS)) is not None:
            auto.append(Exemption.SI_BOUGHT_OUT)
            person_status = person_status or bought
        auto.sort(key=_AUTO_ORDER.index)
        granted = [g for g in self.person.granted if g.rule is None or g.rule == rule]
        codes: list[Exemption] = []
        for code in [Exemption(g.exemption) for g in granted] + auto:
            if code not in codes:
                codes.append(code)

        calendar = self.calendar
        indices = registered if registered is not None else range(len(self.active))
        batch_ids = {self.active[i].batch_id for i in indices}
        evidence: dict[str, Any] = {
            "rule_set_version": self.policy.rule_set_version,
            "review_month": self.policy.review_month,
            "masked_id": self.person.masked_id,
            "source": source,
            "window": {"from": calendar.months[0], "to": calendar.months[-1]},
            "months": list(months),
            "registered": [self.registered_entry(i) for i in indices],
        }
        hints: list[str] = []
        if by_month is not None:
            paid: dict[str, list[dict[str, Any]]] = {}
            for month in months:
                rows_by_payer = by_month.get(month)
                if not rows_by_payer:
                    continue
                entries = []
                self.payers_of(rows_by_payer)  # resolved (cached) before it is shown
                for key, rows in sorted(rows_by_payer.items()):
                    payer = self.payers[key]
                    entries.append(self.payer_entry(payer, rows))
                    batch_ids.update(row.batch_id for row in rows)
                    hints.extend(h for h in payer.hints if h not in hints)
                paid[month] = entries
            evidence["paid"] = paid
        evidence["hints"] = hints
        evidence["batch_ids"] = sorted(b for b in batch_ids if b)
        if extra:
            evidence.update(extra)
        if codes:
            evidence["exemptions"] = [code.value for code in codes]
        if granted:
            evidence["granted"] = [
                {
                    "exemption": Exemption(g.exemption).value,
                    "rule": g.rule.value if g.rule else None,
                    "case_ref": g.case_ref,
                }
                for g in granted
            ]
        if person_status is not None:
            evidence["person_status"] = person_status
        if self.person.id_checksum_failed:
            evidence["id_checksum_failed"] = True
        self.findings.append(
            Finding(
                rule=rule,
                status="exempted" if codes else "open",
                exemption=codes[0] if codes else None,
                severity=SEVERITY[rule],
                region_code=self.region_code,
                evidence=evidence,
            )
        )

    def registered_entry(self, i: int) -> dict[str, Any]:
        reg, unit = self.active[i], self.registered[i]
        return {
            "name": reg.unit_name,
            "uscc": reg.unit_uscc or None,
            "resolved_uscc": unit.resolved_uscc,
            "resolved_by": unit.resolved_by,
            "category": str(reg.category),
            "certificate_no": reg.certificate_no,
            "registered_on": reg.registered_on.isoformat() if reg.registered_on else None,
            "region_code": reg.region_code,
        }

    def payer_entry(self, payer: _Payer, rows: list[PaidMonth]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "uscc": payer.uscc,
            "name": payer.name,
            "kind": payer.kind,
            "in_directory": payer.unit is not None,
            "same": payer.same,
            "how": payer.how,
        }
        if payer.hints:
            entry["hints"] = list(payer.hints)
        entry["branch"] = payer.branch(self.registered, self.units)  # head office or branch of a registered unit
        types = sorted({t for row in rows for t in row.insurance_types})
        if types:
            entry["types"] = types
        return entry


def _same_registered(a: RegisteredUnit, b: RegisteredUnit, units: UnitDirectory) -> bool:
    """Whether two registrations name one unit: by USCC when both resolve to one, else by name."""
    if a.resolved_uscc and b.resolved_uscc:
        return a.resolved_uscc == b.resolved_uscc
    if a.name_norm and a.name_norm == b.name_norm:
        return True
    for known, other in ((a, b), (b, a)):
        if known.resolved_uscc and other.name_norm:
            unit = units.by_uscc(known.resolved_uscc)
            if unit is not None and (unit.name_norm == other.name_norm or other.name_norm in unit.former_names_norm):
                return True
    return False


def evaluate(person: Person, units: UnitDirectory, policy: Policy) -> list[Finding]:
    """The findings that fire for `person` in `policy`'s review month; [] without an active registration."""
    active = [reg for reg in person.registrations if reg.status == ACTIVE]
    if not active:
        return []
    return _Evaluation(person, units, policy, active).run()
