"""The matcher's view of one person and of the unit directory, the policy it applies, and what it finds.

Plain data, no framework: the rule catalog (`rules.py`) is a function of these, and the service
loads them in batches from its projection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from domain.findings import Exemption, Rule  # the rule catalog's codes (and labels) live in the shared domain


@dataclass(frozen=True)
class Unit:
    """A unit as registry-svc published it."""

    uscc: str
    name: str
    name_norm: str  # domain.identifiers.normalize_unit_name(name)
    former_names_norm: tuple[str, ...]
    kind: str  # domain.identifiers.UnitKind value
    head_office_uscc: str | None
    region_code: str


class UnitDirectory:
    """Units looked up by USCC and by normalised (former) name: every unit (as the service loads them, once
    for each version of the units), or those the evaluated people refer to."""

    def __init__(self, units: Iterable[Unit] = ()) -> None:
        self.units = tuple(units)
        self._by_uscc = {unit.uscc: unit for unit in self.units}
        self._by_name: dict[str, list[Unit]] = defaultdict(list)
        for unit in self.units:
            for name in {unit.name_norm, *unit.former_names_norm}:
                self._by_name[name].append(unit)

    def by_uscc(self, uscc: str) -> Unit | None:
        return self._by_uscc.get(uscc)

    def by_name(self, name_norm: str) -> list[Unit]:
        """Units whose normalised name, or one of whose normalised former names, is `name_norm`."""
        return self._by_name.get(name_norm, [])


# The projection's rows, of which a sweep makes about a million: slotted dataclasses, made five times faster
# than frozen ones and read faster too. Nothing changes a row once made; they hash as frozen ones do.


@dataclass(slots=True, unsafe_hash=True)
class Registration:
    category: str  # domain.categories.Category value
    certificate_no: str
    unit_name: str
    unit_uscc: str | None
    region_code: str
    registered_on: date | None
    status: str  # active | cancelled | revoked | expired
    batch_id: str | None


@dataclass(slots=True, unsafe_hash=True)
class PaidMonth:
    """One unit paying for the person in one month (several insurance types are one paying unit)."""

    period: str  # YYYY-MM
    unit_uscc: str
    unit_name: str
    region_code: str
    batch_id: str
    insurance_types: tuple[str, ...] = ()  # empty for housing-fund deposits


@dataclass(frozen=True)
class PersonStatus:
    status: str  # retired | early_retired | bought_out
    since: date | None


@dataclass(frozen=True)
class GrantedExemption:
    """An exemption granted in case handling (cases.decisions); `rule` None means every rule."""

    exemption: Exemption
    rule: Rule | None
    case_ref: str


@dataclass(frozen=True)
class Person:
    person_key: str
    masked_id: str
    name: str
    birth_date: date
    registrations: tuple[Registration, ...] = ()
    contributions: tuple[PaidMonth, ...] = ()
    deposits: tuple[PaidMonth, ...] = ()
    statuses: tuple[PersonStatus, ...] = ()
    granted: tuple[GrantedExemption, ...] = ()
    # Months for which the 社保 feed delivered data for the person's province (any person's payments);
    # None: not tracked, the data counts as complete.
    insurance_data_months: frozenset[str] | None = None
    # The ID number fails its check character (accepted because the sending client's profile says so).
    id_checksum_failed: bool = False


@dataclass(frozen=True)
class Policy:
    """What a campaign decides: the review month and the window (DOMAIN §6 policy choices)."""

    review_month: str  # YYYY-MM: the campaign's as-of month M
    window_months: int = 6  # the window is the last `window_months` months up to and including M
    mismatch_months: int = 2  # SI/FUND_UNIT_MISMATCH needs this many latest months with data, all mismatched
    age_limit_years: int = 65
    rule_set_version: str = "2026.1"


Severity = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class Finding:
    """A rule that fires for a person, with its evidence; `status` is open or exempted."""

    rule: Rule
    status: Literal["open", "exempted"]
    exemption: Exemption | None
    severity: Severity
    region_code: str  # the region of the person's (active) registration: who handles it
    evidence: dict[str, Any] = field(default_factory=dict)
