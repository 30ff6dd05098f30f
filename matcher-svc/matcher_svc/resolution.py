"""Whether a paying unit is the registered unit (DOMAIN §6 "same unit"), and how that was decided.

Registration data usually names the unit without its USCC; insurance and fund data carry both.
A registered unit and a paying unit are the same when

* the registration carries a USCC and it equals the payer's (``uscc_equal``); a registration
  that carries a USCC is judged by it alone;
* otherwise, when the registered name, normalised (width, bracket style, spaces:
  ``domain.identifiers.normalize_unit_name``), equals the payer's normalised name — the name the
  directory holds for the payer's USCC, or the name on the payment record itself
  (``name_exact``);
* or equals one of the payer's former names in the directory (``former_name``).

Everything else is ``different``. Names that merely look alike are never the same unit: a
wrong "same" hides a violation, a wrong "different" only creates a lead. Look-alike names get a
human ``hint`` instead (``HINT_THRESHOLD``), which never changes the answer.

Two weaker paths are guarded: when the directory gives the registered name to *another* unit as
its current name, a payer whose payment record (or former name) happens to carry that name is
not taken to be the registered unit — the name belongs to the other unit now.

The matcher resolves each active registration against every payer of a person's window, for
about 100k people × several months, so the registration side is prepared once
(`prepare` → `RegisteredUnit`) and `resolve_prepared` does dictionary look-ups and string
compares only; the fuzzy score is computed only for pairs that are different, and cached.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final, Literal, cast

from rapidfuzz import fuzz

from domain.identifiers import normalize_unit_name
from matcher_svc.domain import Registration, Unit, UnitDirectory

How = Literal["uscc_equal", "name_exact", "former_name", "different"]
# How a registration's unit name was resolved through the directory (RegisteredUnit.resolved_by).
ResolvedBy = Literal["uscc", "name", "former_name", "ambiguous", "unknown"]

# rapidfuzz `fuzz.ratio` is the normalised InDel similarity, 100·(1 − indels/(len₁+len₂)); one
# substituted character costs two indels. At 85 a one-character difference is hinted for names of
# 7 characters or more (内蒙古华建建设有限公司 vs …建筑有限公司: 11 characters, 90.9) and a
# two-character difference for names of 14 or more, while names that share only a common suffix
# such as 有限公司 or 建设有限公司 stay well below it. The hint only helps an officer spot a
# probable typo or renamed unit; it never makes two units the same.
HINT_THRESHOLD: Final = 85.0


# Resolution and RegisteredUnit are slotted, not frozen: a sweep makes hundreds of thousands, and a frozen
# dataclass takes five times as long to make. Nothing changes them once made.


@dataclass(slots=True)
class Resolution:
    """The answer for one (registered unit, paying unit) pair."""

    same: bool
    how: How
    registered_uscc: str | None  # what the registered unit resolved to, if anything
    hint: str | None = None  # set when the names look alike but the units are not the same


@dataclass(slots=True)
class RegisteredUnit:
    """The registered side of resolution, prepared once per registration."""

    name: str  # as registered
    name_norm: str
    uscc: str | None  # as carried by the registration
    resolved_uscc: str | None  # `uscc`, or the one directory unit bearing the name
    resolved_by: ResolvedBy
    # USCCs of directory units whose *current* normalised name is `name_norm`.
    current_holders: tuple[str, ...]


def prepare(registered: Registration, units: UnitDirectory) -> RegisteredUnit:
    """Normalises the registered name and resolves it through the directory, once."""
    name_norm = normalize_unit_name(registered.unit_name or "")
    uscc = registered.unit_uscc or None
    if uscc is not None:
        return RegisteredUnit(registered.unit_name, name_norm, uscc, uscc, "uscc", ())
    candidates = units.by_name(name_norm) if name_norm else []
    current = tuple(sorted({unit.uscc for unit in candidates if unit.name_norm == name_norm}))
    if len(current) == 1:
        return RegisteredUnit(registered.unit_name, name_norm, None, current[0], "name", current)
    if current:
        return RegisteredUnit(registered.unit_name, name_norm, None, None, "ambiguous", current)
    former = {unit.uscc for unit in candidates}
    if len(former) == 1:
        return RegisteredUnit(registered.unit_name, name_norm, None, former.pop(), "former_name", ())
    return RegisteredUnit(registered.unit_name, name_norm, None, None, "ambiguous" if former else "unknown", ())


_NOT_LOOKED_UP: Final = object()


def resolve(registered: Registration, paying_uscc: str, paying_name: str, units: UnitDirectory) -> Resolution:
    """Whether the unit paying for the person (`paying_uscc`, `paying_name`) is the registered unit."""
    return resolve_prepared(prepare(registered, units), paying_uscc, paying_name, units)


def resolve_prepared(
    registered: RegisteredUnit,
    paying_uscc: str,
    paying_name: str,
    units: UnitDirectory,
    payer: Unit | object | None = _NOT_LOOKED_UP,
) -> Resolution:
    """`resolve` for a prepared registration; `payer` is the directory's unit for `paying_uscc`
    when the caller has already looked it up (None: not in the directory)."""
    if payer is _NOT_LOOKED_UP:
        payer = units.by_uscc(paying_uscc) if paying_uscc else None
    payer = cast("Unit | None", payer)
    if registered.uscc is not None:
        if registered.uscc == paying_uscc:
            return Resolution(True, "uscc_equal", paying_uscc)
        return Resolution(False, "different", registered.uscc, _hint(registered, paying_uscc, paying_name, payer))

    name = registered.name_norm
    if name:
        if payer is not None and payer.name_norm == name:
            return Resolution(True, "name_exact", paying_uscc)
        # When another unit currently bears the registered name, the name is that unit's: the
        # weaker evidence (the payment record's name, a former name of the payer) yields.
        holders = registered.current_holders
        if not holders or holders == (paying_uscc,):
            if paying_name and normalize_unit_name(paying_name) == name:
                return Resolution(True, "name_exact", paying_uscc)
            if payer is not None and name in payer.former_names_norm:
                return Resolution(True, "former_name", paying_uscc)
    return Resolution(False, "different", registered.resolved_uscc, _hint(registered, paying_uscc, paying_name, payer))


def related_as_branch(uscc_a: str | None, uscc_b: str | None, units: UnitDirectory) -> bool:
    """Whether one unit is the other's head office (总分公司), by the directory's `head_office_uscc`.

    Only the direct relation counts: two branches of one head office are not related here.
    """
    if not uscc_a or not uscc_b or uscc_a == uscc_b:
        return False
    a = units.by_uscc(uscc_a)
    if a is not None and a.head_office_uscc == uscc_b:
        return True
    b = units.by_uscc(uscc_b)
    return b is not None and b.head_office_uscc == uscc_a


@functools.lru_cache(maxsize=65536)
def _similarity(a: str, b: str) -> float:
    """`fuzz.ratio` when at least HINT_THRESHOLD, else 0 (rapidfuzz stops early below the cutoff)."""
    return fuzz.ratio(a, b, score_cutoff=HINT_THRESHOLD)


def _hint(registered: RegisteredUnit, paying_uscc: str, paying_name: str, payer: Unit | None) -> str | None:
    """A human hint when the registered name looks like (or is) the payer's name, for a pair that is different."""
    name = registered.name_norm
    if not name:
        return None
    shown = payer.name if payer is not None else paying_name
    # The payer's names, most authoritative first: directory name, name on the payment record.
    candidates: list[tuple[str, str]] = []
    if payer is not None:
        candidates.append((payer.name_norm, payer.name))
    if paying_name:
        candidates.append((normalize_unit_name(paying_name), paying_name))
    for norm, label in candidates:
        if norm == name:
            if registered.uscc is not None:
                return (
                    f"registered name {registered.name} is the name of paying unit {label}, "
                    f"but the registration's unit code {registered.uscc} is not the payer's {paying_uscc}"
                )
            holders = ", ".join(h for h in registered.current_holders if h != paying_uscc)
            return (
                f"registered name {registered.name} is the name on paying unit {paying_uscc}'s record, "
                f"but the unit directory gives that name to {holders}"
            )
    if payer is not None:
        for former in payer.former_names_norm:
            if former == name:
                return (
                    f"registered name {registered.name} is a former name of paying unit {payer.name}, "
                    f"but the registration's unit is {registered.uscc or ', '.join(registered.current_holders)}"
                )
    best = 0.0
    for norm, label in candidates:
        score = _similarity(name, norm)
        if score > best:
            best, shown = score, label
    if payer is not None:
        for former in payer.former_names_norm:
            score = _similarity(name, former)
            if score > best:
                best, shown = score, f"{payer.name} (former name {former})"
    if best:
        return f"registered name {registered.name} is very close to paying unit {shown} but not the same"
    return None
