"""The rule catalog on whole synthetic provinces, against labels planted by the generator (oracle.expected_findings).

The labels are derived from how each person was generated, never from the rules, so exact
agreement on every person is the check. A failure names scenarios, rules and counts, never an
ID number.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from functools import partial
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from oracle import PRODUCED_EXEMPTIONS, PRODUCED_RULES, SCENARIO_LABELS, Label, expected_findings
from projection import to_domain

from devtools.synthetic import CONSISTENT, SCENARIO_SHARES, SyntheticProvince, generate_province
from domain.identifiers import normalize_unit_name
from kernel.privacy import Pseudonymizer
from kernel.settings import DEV_PEPPER
from matcher_svc.domain import Exemption, Finding, Policy, Rule
from matcher_svc.rules import evaluate

REVIEW_MONTH = "2024-10"
POLICY = Policy(review_month=REVIEW_MONTH)
PEOPLE = 3000
# A second seed, with three insurance types a month (one paying unit each, DOMAIN §6).
PROVINCES = {
    "seed-2024": partial(generate_province, people=PEOPLE, seed=2024, review_month=REVIEW_MONTH),
    "seed-7-three-types": partial(
        generate_province, people=PEOPLE, seed=7, review_month=REVIEW_MONTH, insurance_types=("01", "03", "05")
    ),
}


class Labelled:
    """A province, its projection, the planted labels and what the rules found, per person."""

    def __init__(self, province: SyntheticProvince) -> None:
        self.province = province
        self.people, self.directory = to_domain(province)
        self.expected = expected_findings(province, POLICY)
        pseudonyms = Pseudonymizer(DEV_PEPPER.encode())
        self.id_of = {pseudonyms.person_key(id_number): id_number for id_number in province.scenarios}
        self.found: dict[str, frozenset[Label]] = {
            self.id_of[person.person_key]: labels_of(evaluate(person, self.directory, POLICY)) for person in self.people
        }


def labels_of(findings: list[Finding]) -> frozenset[Label]:
    return frozenset(
        (finding.rule.value, finding.status, finding.exemption.value if finding.exemption else None)
        for finding in findings
    )


@pytest.fixture(scope="module", params=list(PROVINCES))
def labelled(request: pytest.FixtureRequest) -> Labelled:
    return Labelled(PROVINCES[request.param]())


def _describe(label: Label) -> str:
    rule, status, exemption = label
    return f"{rule} {status}" + (f" ({exemption})" if exemption else "")


def disagreements(labelled: Labelled) -> str:
    """Per scenario: how many people, and per label how many were missed or extra. Counts only."""
    people: Counter[str] = Counter()
    per_scenario: dict[str, Counter[str]] = defaultdict(Counter)
    for id_number, expected in labelled.expected.items():
        found = labelled.found.get(id_number, frozenset())
        if found == expected:
            continue
        scenario = labelled.province.scenarios[id_number]
        people[scenario] += 1
        for label in expected - found:
            per_scenario[scenario][f"missing  {_describe(label)}"] += 1
        for label in found - expected:
            per_scenario[scenario][f"extra    {_describe(label)}"] += 1
    sizes = Counter(labelled.province.scenarios.values())
    lines = []
    for scenario in sorted(people):
        lines.append(f"{scenario}: {people[scenario]} of {sizes[scenario]} people differ")
        lines += [f"    {what}: {count}" for what, count in sorted(per_scenario[scenario].items())]
    return "\n".join(lines)


# --- the agreement ------------------------------------------------------------------------------


def test_every_person_is_projected_once(labelled: Labelled) -> None:
    keys = [person.person_key for person in labelled.people]
    assert len(keys) == len(set(keys)) == len(labelled.province.scenarios)
    assert set(labelled.found) == set(labelled.expected)


def test_findings_agree_exactly_with_the_labels(labelled: Labelled) -> None:
    report = disagreements(labelled)
    assert not report, "the rules and the planted labels disagree (label → people):\n" + report


# --- the labels cover the catalog -------------------------------------------------------------


def test_the_generator_claims_codes_the_matcher_knows() -> None:
    assert {rule.value for rule in Rule} == PRODUCED_RULES, "every rule of the catalog is planted"
    assert {exemption.value for exemption in Exemption} >= PRODUCED_EXEMPTIONS
    # The exemptions the matcher grants from data alone (the others need case handling).
    assert {"RETIRED", "SI_BOUGHT_OUT", "BRANCH_OFFICE"} == PRODUCED_EXEMPTIONS
    table = {label for labels in SCENARIO_LABELS.values() for label in labels.always | labels.with_fund}
    assert {rule for rule, _, _ in table} == PRODUCED_RULES
    assert {exemption for _, _, exemption in table if exemption} == PRODUCED_EXEMPTIONS
    assert set(SCENARIO_LABELS) == set(SCENARIO_SHARES) | {CONSISTENT}


def test_every_claimed_code_and_label_occurs(labelled: Labelled) -> None:
    occurring = Counter(label for labels in labelled.expected.values() for label in labels)
    rules = {rule for rule, _, _ in occurring}
    exemptions = {exemption for _, _, exemption in occurring if exemption}
    assert sorted(PRODUCED_RULES - rules) == [], "rules the generator claims but no person is labelled with"
    assert sorted(PRODUCED_EXEMPTIONS - exemptions) == [], "exemptions claimed but never labelled"
    # Each (rule, status, exemption) of the table, so that no scenario silently drops out.
    table = {label for labels in SCENARIO_LABELS.values() for label in labels.always | labels.with_fund}
    assert sorted(table - set(occurring)) == []
    sizes = Counter(labelled.province.scenarios.values())
    assert sorted(set(SCENARIO_LABELS) - set(sizes)) == []
    assert all(count >= 5 for count in sizes.values()), sizes


def test_the_variants_that_matter_occur(labelled: Labelled) -> None:
    """Within scenarios, the spellings and payers the rules must handle each occur."""
    province = labelled.province
    scenario_of = province.scenarios
    kinds = {unit["uscc"]: unit["kind"] for unit in province.units}
    public_payers = {
        kinds.get(row["unit_uscc"], "not in the unit feed")
        for row in province.contributions
        if scenario_of[row["id_number"]] == "paid_by_public_body"
    }
    assert {"government", "public_institution", "university", "not in the unit feed"} <= public_payers
    spelled = [
        row["unit_name"]
        for row in province.registrations
        if scenario_of[row["id_number"]] in ("name_variant", "certificates_spelled_differently")
        and not row["unit_uscc"]
    ]
    for mark in ("\u3000", " ", "("):  # a full-width space, a space, half-width brackets
        assert any(mark in name for name in spelled), repr(mark)
    lookalike_names = {
        row["unit_name"] for row in province.registrations if scenario_of[row["id_number"]] == "lookalike_unit"
    }
    assert any("华建" in name for name in lookalike_names) or len(lookalike_names) >= 5
    registration_uscc = Counter(
        row["unit_uscc"] is None for row in province.registrations if scenario_of[row["id_number"]] == CONSISTENT
    )
    assert registration_uscc[True] and registration_uscc[False]  # names only, and with a USCC


def test_labels_refuse_a_policy_they_do_not_hold_for() -> None:
    province = generate_province(people=60, seed=3, review_month=REVIEW_MONTH)
    assert len(expected_findings(province, POLICY)) == 60
    for policy in (
        Policy(review_month="2024-11"),
        Policy(review_month=REVIEW_MONTH, window_months=12),
        Policy(review_month=REVIEW_MONTH, mismatch_months=3),
        Policy(review_month=REVIEW_MONTH, age_limit_years=60),
    ):
        with pytest.raises(ValueError):
            expected_findings(province, policy)
    with pytest.raises(ValueError):
        expected_findings(generate_province(people=60, seed=3, with_payments=False), POLICY)


# --- the projection ----------------------------------------------------------------------------


def test_projection_groups_insurance_types_and_keeps_names_as_written(labelled: Labelled) -> None:
    province = labelled.province
    types = {row["insurance_type"] for row in province.contributions}
    months = [month for person in labelled.people for month in person.contributions]
    assert all(set(month.insurance_types) == types for month in months)
    assert len(months) * len(types) == len(province.contributions)
    assert sum(len(person.deposits) for person in labelled.people) == len(province.deposits)
    assert all(month.insurance_types == () for person in labelled.people for month in person.deposits)
    written = Counter((row["unit_name"], row["unit_uscc"]) for row in province.registrations)
    projected = Counter((r.unit_name, r.unit_uscc) for person in labelled.people for r in person.registrations)
    assert projected == written
    assert all(person.masked_id[6:16] == "*" * 10 for person in labelled.people)


def test_directory_holds_the_unit_feed_only(labelled: Labelled) -> None:
    directory = labelled.directory
    assert len(directory.units) == len(labelled.province.units)
    feed = {unit["uscc"] for unit in labelled.province.units}
    outside = {row["unit_uscc"] for row in labelled.province.contributions} - feed
    assert outside and all(uscc[:2] in ("11", "12") for uscc in outside)  # hospitals, schools, bureaus
    assert all(directory.by_uscc(uscc) is None for uscc in outside)
    renamed = [unit for unit in labelled.province.units if unit["former_names"]]
    assert renamed
    for unit in renamed:
        for name in (unit["name"], *unit["former_names"]):
            assert [found.uscc for found in directory.by_name(normalize_unit_name(name))] == [unit["uscc"]]
    grouped = next(unit for unit in labelled.province.units if "（" in unit["name"])
    spelled = grouped["name"].replace("（", "(").replace("）", ")").replace("有限", "\u3000有限")
    assert [found.uscc for found in directory.by_name(normalize_unit_name(spelled))] == [grouped["uscc"]]
