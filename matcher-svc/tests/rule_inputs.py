"""Factories of the rule catalog's inputs for its tests: units, registrations, payments, people, a policy.

Imported by test_rules.py and test_resolution.py (they put this folder on sys.path: pytest runs
with --import-mode=importlib, which does not).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from domain.identifiers import normalize_unit_name, unit_kind_from_uscc, uscc_check_char
from matcher_svc.domain import GrantedExemption, PaidMonth, Person, PersonStatus, Policy, Registration, Unit

POLICY = Policy(review_month="2025-01")  # window 2024-08 … 2025-01
WINDOW = ("2024-08", "2024-09", "2024-10", "2024-11", "2024-12", "2025-01")


def uscc(prefix: str, seq: int, area: str = "150100") -> str:
    """A USCC with a valid check character: `prefix` (91 enterprise, 11 organ, 12 institution…)."""
    first17 = f"{prefix}{area}{seq:09d}"
    return first17 + uscc_check_char(first17)


def unit(
    code: str,
    name: str,
    *,
    former: Iterable[str] = (),
    kind: str | None = None,
    head: str | None = None,
    region: str = "150100",
) -> Unit:
    return Unit(
        uscc=code,
        name=name,
        name_norm=normalize_unit_name(name),
        former_names_norm=tuple(normalize_unit_name(n) for n in former),
        kind=kind or unit_kind_from_uscc(code).value,
        head_office_uscc=head,
        region_code=region,
    )


def reg(
    unit_name: str,
    unit_uscc: str | None = None,
    *,
    category: str = "constructor_1",
    status: str = "active",
    registered_on: date | None = date(2020, 5, 1),
    region: str = "150102",
    cert: str = "蒙1152020000001",
    batch: str = "reg-1",
) -> Registration:
    return Registration(
        category=category,
        certificate_no=cert,
        unit_name=unit_name,
        unit_uscc=unit_uscc,
        region_code=region,
        registered_on=registered_on,
        status=status,
        batch_id=batch,
    )


def paid(
    periods: Iterable[str],
    unit_uscc: str,
    unit_name: str,
    *,
    types: tuple[str, ...] = ("01", "02", "03"),
    batch: str = "si-1",
    region: str = "150100",
) -> tuple[PaidMonth, ...]:
    return tuple(PaidMonth(p, unit_uscc, unit_name, region, batch, types) for p in periods)


def deposits(periods: Iterable[str], unit_uscc: str, unit_name: str, *, batch: str = "fund-1") -> tuple[PaidMonth, ...]:
    return paid(periods, unit_uscc, unit_name, types=(), batch=batch)


def person(
    *registrations: Registration,
    si: Iterable[PaidMonth] = (),
    fund: Iterable[PaidMonth] = (),
    birth: date = date(1980, 6, 15),
    statuses: Iterable[PersonStatus] = (),
    granted: Iterable[GrantedExemption] = (),
    key: str = "p1",
    insurance_data_months: frozenset[str] | None = None,
) -> Person:
    return Person(
        person_key=key,
        masked_id="150102**********34",
        name="张三",
        birth_date=birth,
        registrations=tuple(registrations),
        contributions=tuple(si),
        deposits=tuple(fund),
        statuses=tuple(statuses),
        granted=tuple(granted),
        insurance_data_months=insurance_data_months,
    )
