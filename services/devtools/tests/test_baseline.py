"""The benchmarks' DuckDB baseline (devtools.baseline) finds what the matcher finds.

On synthetic provinces (several seeds) its findings equal, person by person, the labels the generator
planted (matcher-svc/tests/oracle.py, the matcher's own oracle). On a hand-made province of the cases the
generator does not plant (the ambiguous and other-unit guards, former names, branches that are siblings,
29 February, a status that starts after M, YYYYMM months, a province without 社保 data, …) they equal the
matcher's rules evaluated in-process on the same records, and the labels written down here.

A failure names scenarios or cases, rules and counts, never an ID number.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devtools.baseline import Baseline, Label, duckdb_findings, write_province
from devtools.synthetic import SyntheticProvince, generate_province
from devtools.testing import REPO_ROOT
from domain.identifiers import id_check_char, uscc_check_char
from kernel.privacy import Pseudonymizer
from kernel.settings import DEV_PEPPER
from matcher_svc.domain import Policy
from matcher_svc.rules import evaluate

MATCHER_TESTS = REPO_ROOT / "matcher-svc" / "tests"


def _matcher_test_module(name: str) -> ModuleType:
    """A helper module of matcher-svc's tests (their folder is not a package)."""
    qualified = f"matcher_tests_{name}"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, MATCHER_TESTS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module  # dataclasses look their module up while they are built
        spec.loader.exec_module(module)
    return sys.modules[qualified]


oracle: Any = _matcher_test_module("oracle")
projection: Any = _matcher_test_module("projection")

REVIEW_MONTH = "2024-10"
PROVINCES: dict[str, dict[str, Any]] = {
    "seed-2024": {"seed": 2024},
    "seed-7-three-types": {"seed": 7, "insurance_types": ("01", "03", "05")},
    "seed-99-heilongjiang": {"seed": 99, "province": "230000"},
}


def _run(province: SyntheticProvince, folder: Path, review_month: str) -> Baseline:
    folder.mkdir(parents=True, exist_ok=True)
    return duckdb_findings(write_province(province, folder), review_month)


# --- synthetic provinces against the planted labels ----------------------------------------------------------


@pytest.mark.parametrize("name", list(PROVINCES))
def test_findings_equal_the_planted_labels(name: str, tmp_path: Path) -> None:
    province = generate_province(people=3000, review_month=REVIEW_MONTH, **PROVINCES[name])
    result = _run(province, tmp_path, REVIEW_MONTH)
    expected: dict[str, frozenset[Label]] = oracle.expected_findings(province, Policy(review_month=REVIEW_MONTH))
    found = result.by_person()

    differ: Counter[str] = Counter()
    for id_number, labels in expected.items():
        got = found.get(id_number, frozenset())
        for label in labels - got:
            differ[f"{province.scenarios[id_number]}: missing {label}"] += 1
        for label in got - labels:
            differ[f"{province.scenarios[id_number]}: extra {label}"] += 1
    assert not differ, "the baseline and the planted labels disagree:\n" + "\n".join(
        f"  {what}: {count}" for what, count in sorted(differ.items())
    )
    strangers = len(set(found) - set(expected))  # a count: the sets themselves hold ID numbers
    assert strangers == 0, "findings for people nobody planted"
    # Every rule and derived exemption of the catalog occurs, so the agreement covers them all.
    assert {rule for _, rule, _, _ in result.findings} == oracle.PRODUCED_RULES
    assert {exemption for *_, exemption in result.findings if exemption} == oracle.PRODUCED_EXEMPTIONS
    active = {row["id_number"] for row in province.registrations if row["status"] == "active"}
    assert result.people == len(active)
    assert result.seconds > 0


# --- hand-made cases against the matcher's rules ---------------------------------------------------------------

CASES_MONTH = "2025-03"  # window 2024-10 … 2025-03


def _uscc(prefix: str, seq: int) -> str:
    first17 = f"{prefix}150102{seq:09d}"
    return first17 + uscc_check_char(first17)


UA, UE, UQ = _uscc("91", 1), _uscc("91", 2), _uscc("91", 3)
UD1, UD2 = _uscc("91", 4), _uscc("91", 5)  # two units currently bearing one name
UR, UR2 = _uscc("91", 6), _uscc("91", 7)  # renamed units
UO, UF = _uscc("91", 8), _uscc("91", 9)  # UF's former name is UO's current one
UH, UB1, UB2 = _uscc("91", 10), _uscc("91", 11), _uscc("91", 12)  # a head office and two branches
UHR, UU = _uscc("91", 13), _uscc("12", 14)  # an HR agency, a university
UX, UX2, UP = _uscc("91", 15), _uscc("91", 16), _uscc("12", 17)  # payers outside the unit feed

UNITS = [
    (UA, "内蒙古甲建设有限公司", [], "enterprise", None),
    (UE, "内蒙古乙工程有限公司", [], "enterprise", None),
    (UQ, "内蒙古（丙）建设有限公司", [], "enterprise", None),
    (UD1, "内蒙古双名建设有限公司", [], "enterprise", None),
    (UD2, "内蒙古双名建设有限公司", [], "enterprise", None),
    (UR, "内蒙古新名建筑有限公司", ["内蒙古旧名建筑有限公司", "内蒙古曾共名建设有限公司"], "enterprise", None),
    (UR2, "内蒙古另名建筑有限公司", ["内蒙古曾共名建设有限公司"], "enterprise", None),
    (UO, "内蒙古占名建设有限公司", [], "enterprise", None),
    (UF, "内蒙古后名建设有限公司", ["内蒙古占名建设有限公司"], "enterprise", None),
    (UH, "内蒙古总部建设集团有限公司", [], "enterprise", None),
    (UB1, "内蒙古总部建设集团有限公司包头分公司", [], "enterprise", UH),
    (UB2, "内蒙古总部建设集团有限公司赤峰分公司", [], "enterprise", UH),
    (UHR, "内蒙古人力资源服务有限公司", [], "hr_agency", None),
    (UU, "内蒙古某大学", [], "university", None),
]
NAMES = {uscc: name for uscc, name, *_ in UNITS} | {
    UX: "外省某建设有限公司",
    UX2: "内蒙古无录建设有限公司",
    UP: "某市人民医院",
}
BOTH = ("2025-02", "2025-03")


def _open(*rules: str) -> set[Label]:
    return {(rule, "open", None) for rule in rules}


def _exempted(exemption: str, *rules: str) -> set[Label]:
    return {(rule, "exempted", exemption) for rule in rules}


# name → (registrations: (unit name, USCC or None, extra), contributions: (USCC, periods, row name or None),
#          deposits, statuses: (status, since), birth date, expected findings)
CASES: dict[str, dict[str, Any]] = {
    "ambiguous_name_paid_by_outsider_under_it": {
        "regs": [("内蒙古双名建设有限公司", None, {})],
        "si": [(UX, BOTH, "内蒙古双名建设有限公司")],
        "expected": _open("SI_UNIT_MISMATCH"),
    },
    "ambiguous_name_paid_by_a_bearer": {"regs": [("内蒙古双名建设有限公司", None, {})], "si": [(UD1, BOTH, None)]},
    "name_now_another_units_paid_by_its_former_bearer": {
        "regs": [("内蒙古占名建设有限公司", None, {})],
        "si": [(UF, BOTH, None)],
        "fund": [(UO, BOTH, None)],
        "expected": _open("SI_UNIT_MISMATCH"),
    },
    "former_name_resolves": {"regs": [("内蒙古旧名建筑有限公司", None, {})], "si": [(UR, BOTH, None)]},
    "payment_row_name_outside_the_feed": {
        "regs": [("内蒙古无录建设有限公司", None, {})],
        "si": [(UX2, BOTH, "内蒙古 无录建设有限公司")],
    },
    "registered_uscc_decides_alone": {
        "regs": [("内蒙古甲建设有限公司", UE, {})],
        "si": [(UA, BOTH, None)],
        "expected": _open("SI_UNIT_MISMATCH"),
    },
    "branch_paid_by_its_head_office": {
        "regs": [(NAMES[UB1], UB1, {})],
        "si": [(UH, BOTH, None)],
        "expected": _exempted("BRANCH_OFFICE", "SI_UNIT_MISMATCH"),
    },
    "branch_paid_by_a_sibling": {
        "regs": [(NAMES[UB1], None, {})],
        "si": [(UB2, BOTH, None)],
        "expected": _open("SI_UNIT_MISMATCH"),
    },
    "head_office_paid_by_branch_and_stranger": {
        "regs": [(NAMES[UH], UH, {})],
        "si": [(UB1, BOTH, None), (UE, ("2025-03",), None)],
        "expected": _open("SI_UNIT_MISMATCH", "SI_MULTIPLE_UNITS"),
    },
    "born_29_february_turns_65_on_1_march_of_m": {
        "regs": [(NAMES[UA], UA, {"category": "constructor_1"})],
        "si": [(UA, BOTH, None)],
        "birth": date(1960, 2, 29),
    },
    "born_29_february_past_65": {
        "regs": [(NAMES[UA], UA, {"category": "supervision"})],
        "si": [(UA, BOTH, None)],
        "birth": date(1956, 2, 29),
        "expected": _open("AGE_OVER_LIMIT"),
    },
    "turned_65_on_28_february": {
        "regs": [(NAMES[UA], UA, {"category": "constructor_2"})],
        "si": [(UA, BOTH, None)],
        "birth": date(1960, 2, 28),
        "expected": _open("AGE_OVER_LIMIT"),
    },
    "over_age_in_a_category_without_limit": {
        "regs": [(NAMES[UA], UA, {"category": "cost_1"})],
        "si": [(UA, BOTH, None)],
        "birth": date(1950, 1, 1),
    },
    "retired_after_m": {
        "regs": [(NAMES[UA], UA, {})],
        "statuses": [("retired", date(2025, 4, 15))],
        "expected": _open("SI_NONE"),
    },
    "retired_undated": {
        "regs": [(NAMES[UA], UA, {})],
        "statuses": [("early_retired", None)],
        "expected": _exempted("RETIRED", "SI_NONE"),
    },
    "retired_and_bought_out": {
        "regs": [(NAMES[UA], UA, {})],
        "statuses": [("bought_out", date(2001, 1, 1)), ("retired", date(2020, 1, 1))],
        "expected": _exempted("RETIRED", "SI_NONE"),
    },
    "months_written_yyyymm": {
        "regs": [(NAMES[UA], UA, {})],
        "si": [(UE, ("202502", "202503"), None)],
        "expected": _open("SI_UNIT_MISMATCH"),
    },
    "registered_where_no_social_insurance_data_came": {"regs": [(NAMES[UA], UA, {"region_code": "230102"})]},
    "registered_in_m": {
        "regs": [(NAMES[UA], UA, {"registered_on": date(2025, 3, 5)})],
        "si": [(UE, ("2024-12", "2025-01", "2025-02", "2025-03"), None)],
    },
    "registration_undated": {
        "regs": [(NAMES[UA], UA, {"registered_on": None})],
        "si": [(UE, BOTH, None)],
        "expected": _open("SI_UNIT_MISMATCH"),
    },
    "one_unit_by_a_shared_former_name": {
        "regs": [(NAMES[UR], UR, {}), ("内蒙古曾共名建设有限公司", None, {})],
        "si": [(UR, BOTH, None)],
    },
    "two_units_one_spelled_with_brackets": {
        "regs": [("内蒙古(丙)建设有限公司", None, {}), ("内蒙古【丙】建设有限公司", None, {}), (NAMES[UE], UE, {})],
        "si": [(UQ, BOTH, None)],
        "expected": _open("MULTI_REGISTRATION"),
    },
    "employed_by_a_university": {"regs": [(NAMES[UU], UU, {})], "si": [(UU, BOTH, None)]},
    "an_hr_agency_pays_besides": {
        "regs": [(NAMES[UA], UA, {})],
        "si": [(UA, BOTH, None), (UHR, ("2025-03",), None)],
        "expected": _open("SI_MULTIPLE_UNITS", "HR_AGENCY_SI"),
    },
    "a_hospital_outside_the_feed_pays": {
        "regs": [(NAMES[UA], UA, {})],
        "si": [(UP, BOTH, None)],
        "fund": [(UP, BOTH, None)],
        "expected": _open("SI_UNIT_MISMATCH", "PUBLIC_SECTOR_SI", "FUND_UNIT_MISMATCH"),
    },
    "two_fund_payers_in_the_latest_month": {
        "regs": [(NAMES[UA], UA, {})],
        "si": [(UA, BOTH, None)],
        "fund": [(UA, BOTH, None), (UE, ("2025-03",), None)],
        "expected": _open("FUND_MULTIPLE_UNITS"),
    },
    "only_a_cancelled_registration": {"regs": [(NAMES[UA], UA, {"status": "cancelled"})], "si": [(UE, BOTH, None)]},
}


def _id_number(number: int, birth: date) -> str:
    first17 = f"150102{birth:%Y%m%d}{number:03d}"
    return first17 + id_check_char(first17)


def _cases_province() -> tuple[SyntheticProvince, dict[str, str]]:
    """The cases as one province's records, and each case's ID number."""
    registrations: list[dict[str, Any]] = []
    contributions: list[dict[str, Any]] = []
    deposits: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    ids = {}
    for number, (case, spec) in enumerate(CASES.items(), start=1):
        id_number = ids[case] = _id_number(number, spec.get("birth", date(1980, 6, 15)))
        person = {"id_number": id_number, "name": "测试"}
        for index, (unit_name, uscc, extra) in enumerate(spec["regs"]):
            registrations.append(
                person
                | {
                    "category": "constructor_2",
                    "certificate_no": f"蒙215{number:04d}{index:04d}",
                    "unit_name": unit_name,
                    "unit_uscc": uscc,
                    "region_code": "150102",
                    "registered_on": date(2020, 5, 1),
                    "status": "active",
                }
                | extra
            )
        for rows, source in ((contributions, "si"), (deposits, "fund")):
            for uscc, periods, row_name in spec.get(source, ()):
                for period in periods:
                    row = person | {"unit_uscc": uscc, "unit_name": row_name or NAMES[uscc], "period": period}
                    rows.append(row | {"region_code": "150102"} | ({"insurance_type": "01"} if source == "si" else {}))
        statuses += [person | {"status": status, "since": since} for status, since in spec.get("statuses", ())]
    units = [
        {"uscc": u, "name": n, "former_names": f, "kind": k, "head_office_uscc": h, "region_code": "150102"}
        for u, n, f, k, h in UNITS
    ]
    province = SyntheticProvince(
        units=units,
        registrations=registrations,
        contributions=contributions,
        person_statuses=statuses,
        deposits=deposits,
        scenarios={id_number: case for case, id_number in ids.items()},
        review_month=CASES_MONTH,
        months=6,
    )
    return province, ids


def _matcher_findings(province: SyntheticProvince) -> dict[str, frozenset[Label]]:
    """The matcher's rules on the same records, in-process: per ID number, what fires. Months with 社保 data
    per province as the service counts them (any contribution row of the province)."""
    people, directory = projection.to_domain(province)
    months: dict[str, set[str]] = {}
    for row in province.contributions:
        period = row["period"] if "-" in row["period"] else f"{row['period'][:4]}-{row['period'][4:]}"
        months.setdefault(row["region_code"][:2], set()).add(period)
    pseudonyms = Pseudonymizer(DEV_PEPPER.encode())
    id_of = {pseudonyms.person_key(id_number): id_number for id_number in province.scenarios}
    policy = Policy(review_month=CASES_MONTH)
    found: dict[str, frozenset[Label]] = {}
    for projected in people:
        provinces = {r.region_code[:2] for r in projected.registrations if r.status == "active"}
        data_months = frozenset().union(*(months.get(p, set()) for p in provinces))
        person = replace(projected, insurance_data_months=data_months)
        labels: set[Label] = {
            (f.rule.value, f.status, f.exemption.value if f.exemption else None)
            for f in evaluate(person, directory, policy)
        }
        if labels:
            found[id_of[person.person_key]] = frozenset(labels)
    return found


def test_hand_made_cases_equal_the_matchers_rules(tmp_path: Path) -> None:
    province, ids = _cases_province()
    result = _run(province, tmp_path, CASES_MONTH)
    baseline, matcher = result.by_person(), _matcher_findings(province)
    expected = {case: frozenset(spec.get("expected", ())) for case, spec in CASES.items()}

    def per_case(found: dict[str, frozenset[Label]]) -> dict[str, frozenset[Label]]:
        return {case: found.get(ids[case], frozenset()) for case in CASES}

    # The labels written here are the matcher's (so the cases test what they say), and the baseline's.
    assert per_case(matcher) == expected
    assert per_case(baseline) == expected
    assert result.people == len(CASES) - 1  # the one with only a cancelled registration is not evaluated


def test_the_window_and_review_month_are_the_callers(tmp_path: Path) -> None:
    """A later review month moves the window: a 65th birthday on 1 March 2025 fires from April, and months
    before the window are not looked at."""
    province, ids = _cases_province()
    files = write_province(province, tmp_path)
    april = duckdb_findings(files, "2025-04").by_person()
    assert ("AGE_OVER_LIMIT", "open", None) in april[ids["born_29_february_turns_65_on_1_march_of_m"]]
    # From 2025-09 the window (2025-04 … 2025-09) holds no payment at all: every payer rule falls silent, and
    # SI_NONE too (the 社保 feed has sent nothing for the province in it).
    later = duckdb_findings(files, "2025-09")
    assert {rule for _, rule, _, _ in later.findings} == {"AGE_OVER_LIMIT", "MULTI_REGISTRATION"}
