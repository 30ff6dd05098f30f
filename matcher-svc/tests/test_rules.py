"""The rule catalog (DOMAIN §6): each rule firing and not, each exemption, the boundaries. Pure, no I/O."""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import replace
from datetime import date
from operator import itemgetter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rule_inputs import POLICY, WINDOW, deposits, paid, person, reg, unit, uscc

from domain.categories import AGE_LIMITED
from matcher_svc.domain import (
    Exemption,
    Finding,
    GrantedExemption,
    PaidMonth,
    PersonStatus,
    Policy,
    Rule,
    UnitDirectory,
)
from matcher_svc.rules import SEVERITY, anniversary, evaluate

HOME, HOME_NAME = uscc("91", 1), "内蒙古华建建设有限公司"
LOOKALIKE, LOOKALIKE_NAME = uscc("91", 2), "内蒙古华建建筑有限公司"
FAR, FAR_NAME = uscc("91", 3), "赤峰市远方建材有限公司"
HEAD, HEAD_NAME = uscc("91", 4), "包头市鹿城建工集团有限公司"
BRANCH, BRANCH_NAME = uscc("91", 5), "包头市鹿城建工集团有限公司赤峰分公司"
RENAMED, RENAMED_NAME, RENAMED_FORMER = (
    uscc("91", 6),
    "呼和浩特市青城路桥工程有限公司",
    "呼和浩特市青城市政工程有限公司",
)
AGENCY, AGENCY_NAME = uscc("91", 7), "呼和浩特市智联人力资源服务有限公司"
UNIVERSITY, UNIVERSITY_NAME = uscc("12", 8), "内蒙古工业大学"
INSTITUTE, INSTITUTE_NAME = uscc("12", 9), "内蒙古自治区建筑科学研究院"
BRACKETS, BRACKETS_NAME = uscc("91", 10), "内蒙古兴泰建设(集团)有限公司"
# Public bodies the unit feed does not know: only their USCC prefix tells.
ORGAN, ORGAN_NAME = uscc("11", 11, area="150400"), "赤峰市红山区住房和城乡建设局"
ABSENT_INSTITUTION, ABSENT_INSTITUTION_NAME = uscc("12", 12, area="150400"), "赤峰市红山区建设工程质量监督站"

UNITS = UnitDirectory(
    [
        unit(HOME, HOME_NAME),
        unit(LOOKALIKE, LOOKALIKE_NAME),
        unit(FAR, FAR_NAME),
        unit(HEAD, HEAD_NAME),
        unit(BRANCH, BRANCH_NAME, head=HEAD),
        unit(RENAMED, RENAMED_NAME, former=[RENAMED_FORMER]),
        unit(AGENCY, AGENCY_NAME, kind="hr_agency"),
        unit(UNIVERSITY, UNIVERSITY_NAME, kind="university"),
        unit(INSTITUTE, INSTITUTE_NAME, kind="public_institution"),
        unit(BRACKETS, BRACKETS_NAME),
    ]
)

LAST_TWO = ("2024-12", "2025-01")
RETIRED = PersonStatus("retired", date(2015, 3, 1))


def run(p, policy: Policy = POLICY) -> dict[Rule, Finding]:
    findings = evaluate(p, UNITS, policy)
    by_rule = {f.rule: f for f in findings}
    assert len(by_rule) == len(findings), "a rule fires at most once per person"
    for f in findings:
        json.dumps(f.evidence)  # JSON-serialisable
    return by_rule


def home_person(**kwargs):
    """Registered at HOME by name only; SI and fund paid by HOME all window: consistent."""
    kwargs.setdefault("si", paid(WINDOW, HOME, HOME_NAME))
    kwargs.setdefault("fund", deposits(WINDOW, HOME, HOME_NAME))
    return person(reg(HOME_NAME), **kwargs)


def far_person(**kwargs):
    """Registered at HOME, SI and fund paid by FAR all window: the plain 挂证 lead."""
    kwargs.setdefault("si", paid(WINDOW, FAR, FAR_NAME))
    kwargs.setdefault("fund", deposits(WINDOW, FAR, FAR_NAME))
    return person(reg(HOME_NAME), **kwargs)


# --- who is evaluated, the window ---------------------------------------------------------


def test_consistent_person_has_no_findings():
    assert run(home_person()) == {}


def test_without_an_active_registration_nobody_is_evaluated():
    p = person(
        reg(HOME_NAME, status="cancelled"), reg(FAR_NAME, status="expired"), si=paid(WINDOW, AGENCY, AGENCY_NAME)
    )
    assert evaluate(p, UNITS, POLICY) == []
    assert evaluate(person(), UNITS, POLICY) == []


def test_inactive_registrations_are_ignored():
    # Cancelled at FAR, active at HOME: FAR is not a registered unit, and one unit is registered.
    p = person(reg(HOME_NAME), reg(FAR_NAME, status="revoked"), si=paid(WINDOW, FAR, FAR_NAME))
    found = run(p)
    assert set(found) == {Rule.SI_UNIT_MISMATCH}
    assert [r["name"] for r in found[Rule.SI_UNIT_MISMATCH].evidence["registered"]] == [HOME_NAME]


def test_months_outside_the_window_are_ignored():
    outside = ("2024-01", "2024-06", "2024-07", "2025-02", "2025-03")
    p = home_person(
        si=paid(LAST_TWO, HOME, HOME_NAME) + paid(outside, FAR, FAR_NAME) + paid(outside, AGENCY, AGENCY_NAME)
    )
    assert run(p) == {}
    # Data only outside the window is no data at all.
    only_outside = home_person(si=paid(outside, HOME, HOME_NAME), fund=deposits(outside, FAR, FAR_NAME))
    assert set(run(only_outside)) == {Rule.SI_NONE}


def test_the_window_follows_the_policy():
    p = far_person(fund=())
    # Six months back from 2025-07 is 2025-02: all the data is before it.
    assert set(run(p, Policy(review_month="2025-07"))) == {Rule.SI_NONE}
    assert set(run(p, Policy(review_month="2025-07", window_months=12))) == {Rule.SI_UNIT_MISMATCH}


def test_compact_periods_are_read_as_months():
    rows = tuple(replace(row, period=row.period.replace("-", "")) for row in paid(WINDOW, FAR, FAR_NAME))
    assert run(far_person(si=rows, fund=()))[Rule.SI_UNIT_MISMATCH].evidence["months"] == list(LAST_TWO)


# --- SI_UNIT_MISMATCH / FUND_UNIT_MISMATCH ------------------------------------------------------


def test_si_and_fund_mismatch_fire_with_evidence():
    found = run(far_person())
    assert set(found) == {Rule.SI_UNIT_MISMATCH, Rule.FUND_UNIT_MISMATCH}
    si = found[Rule.SI_UNIT_MISMATCH]
    assert (si.status, si.exemption, si.severity, si.region_code) == ("open", None, "high", "150102")
    ev = si.evidence
    assert ev["source"] == "insurance"
    assert ev["months"] == ["2024-12", "2025-01"]
    assert ev["window"] == {"from": "2024-08", "to": "2025-01"}
    assert ev["review_month"] == "2025-01" and ev["rule_set_version"] == POLICY.rule_set_version
    assert ev["masked_id"] == "150102**********34"
    assert ev["batch_ids"] == ["reg-1", "si-1"]
    assert ev["registered"] == [
        {
            "name": HOME_NAME,
            "uscc": None,
            "resolved_uscc": HOME,
            "resolved_by": "name",
            "category": "constructor_1",
            "certificate_no": "蒙1152020000001",
            "registered_on": "2020-05-01",
            "region_code": "150102",
        }
    ]
    assert ev["paid"] == {
        month: [
            {
                "uscc": FAR,
                "name": FAR_NAME,
                "kind": "enterprise",
                "in_directory": True,
                "same": False,
                "how": "different",
                "branch": False,
                "types": ["01", "02", "03"],
            }
        ]
        for month in LAST_TWO
    }
    assert ev["hints"] == []
    fund = found[Rule.FUND_UNIT_MISMATCH]
    assert (fund.severity, fund.evidence["source"], fund.evidence["batch_ids"]) == (
        "medium",
        "fund",
        ["fund-1", "reg-1"],
    )
    assert "types" not in fund.evidence["paid"]["2025-01"][0]


def test_an_id_number_failing_its_check_is_said_in_every_findings_evidence():
    plain = run(far_person())
    assert plain and all("id_checksum_failed" not in f.evidence for f in plain.values())
    flagged = run(replace(far_person(), id_checksum_failed=True))
    assert set(flagged) == set(plain)
    assert all(f.evidence["id_checksum_failed"] is True for f in flagged.values())


def test_mismatch_needs_each_of_the_last_two_months():
    # Registered unit pays in 2024-12, someone else in 2025-01: not yet.
    si = paid(WINDOW[:-1], HOME, HOME_NAME) + paid(["2025-01"], FAR, FAR_NAME)
    assert Rule.SI_UNIT_MISMATCH not in run(home_person(si=si))
    # The other way round (moved away two months ago): fires on the last two months.
    si = paid(WINDOW[:-2], HOME, HOME_NAME) + paid(LAST_TWO, FAR, FAR_NAME)
    assert run(home_person(si=si))[Rule.SI_UNIT_MISMATCH].evidence["months"] == list(LAST_TWO)


def test_a_registered_unit_among_several_payers_is_no_mismatch():
    si = paid(WINDOW, FAR, FAR_NAME) + paid(WINDOW, HOME, HOME_NAME)
    assert Rule.SI_UNIT_MISMATCH not in run(home_person(si=si))


def test_only_one_month_of_data_never_mismatches():
    p = far_person(si=paid(["2025-01"], FAR, FAR_NAME), fund=deposits(["2024-10"], FAR, FAR_NAME))
    assert run(p) == {}


def test_mismatch_takes_the_last_two_months_that_have_data():
    p = far_person(si=paid(["2024-09", "2024-11"], FAR, FAR_NAME), fund=())
    assert run(p)[Rule.SI_UNIT_MISMATCH].evidence["months"] == ["2024-09", "2024-11"]


def test_a_person_who_just_moved_is_not_flagged_yet():
    # Re-registered at HOME in December; the insurer's data (up to December) still shows the old unit.
    moved = reg(HOME_NAME, registered_on=date(2024, 12, 10))
    old_unit = paid(["2024-08", "2024-09", "2024-10", "2024-11", "2024-12"], FAR, FAR_NAME)
    assert run(person(moved, si=old_unit)) == {}
    # Once January's data shows the old unit still paying, two months remain: it fires.
    found = run(person(moved, si=old_unit + paid(["2025-01"], FAR, FAR_NAME)))
    assert found[Rule.SI_UNIT_MISMATCH].evidence["months"] == list(LAST_TWO)
    # Moved within the review month itself: one month at most remains.
    moved_now = reg(HOME_NAME, registered_on=date(2025, 1, 5))
    assert run(person(moved_now, si=paid(WINDOW, FAR, FAR_NAME), fund=deposits(WINDOW, FAR, FAR_NAME))) == {}


def test_mismatch_months_is_a_policy():
    si = paid(WINDOW[:-2], HOME, HOME_NAME) + paid(LAST_TWO, FAR, FAR_NAME)
    assert Rule.SI_UNIT_MISMATCH not in run(home_person(si=si), Policy(review_month="2025-01", mismatch_months=3))


def test_former_name_is_the_same_unit():
    p = person(
        reg(RENAMED_FORMER), si=paid(WINDOW, RENAMED, RENAMED_NAME), fund=deposits(WINDOW, RENAMED, RENAMED_NAME)
    )
    assert run(p) == {}


def test_full_width_brackets_and_spaces_are_the_same_unit():
    p = person(reg("内蒙古兴泰建设（集团）　有限公司"), si=paid(WINDOW, BRACKETS, "内蒙古兴泰建设（集团）有限公司"))
    assert run(p) == {}


def test_a_registration_carrying_a_uscc_is_matched_by_it():
    p = person(reg("名称写错的公司", HOME), si=paid(WINDOW, HOME, HOME_NAME))
    assert run(p) == {}


def test_look_alike_name_is_a_different_unit_with_a_hint():
    p = person(reg(HOME_NAME), si=paid(WINDOW, LOOKALIKE, LOOKALIKE_NAME))
    found = run(p)
    finding = found[Rule.SI_UNIT_MISMATCH]
    assert finding.status == "open"
    hint = f"registered name {HOME_NAME} is very close to paying unit {LOOKALIKE_NAME} but not the same"
    assert finding.evidence["hints"] == [hint]
    assert finding.evidence["paid"]["2025-01"][0]["hints"] == [hint]


# --- SI_MULTIPLE_UNITS / FUND_MULTIPLE_UNITS ------------------------------------------------


def test_two_payers_in_the_latest_month():
    si = paid(WINDOW, HOME, HOME_NAME) + paid(["2025-01"], FAR, FAR_NAME, batch="si-2")
    found = run(home_person(si=si))
    assert set(found) == {Rule.SI_MULTIPLE_UNITS}
    f = found[Rule.SI_MULTIPLE_UNITS]
    assert (f.severity, f.evidence["months"], f.evidence["batch_ids"]) == (
        "medium",
        ["2025-01"],
        ["reg-1", "si-1", "si-2"],
    )
    assert [(e["uscc"], e["same"], e["how"]) for e in f.evidence["paid"]["2025-01"]] == sorted(
        [(HOME, True, "name_exact"), (FAR, False, "different")]
    )


def test_two_payers_only_in_an_earlier_month_do_not_count():
    si = paid(WINDOW, HOME, HOME_NAME) + paid(["2024-11"], FAR, FAR_NAME)
    assert run(home_person(si=si)) == {}


def test_several_insurance_types_of_one_unit_are_one_payer():
    si = tuple(
        PaidMonth(month, FAR, FAR_NAME, "150100", "si-1", (kind,))
        for month in WINDOW
        for kind in ("01", "02", "03", "04", "05")
    )
    found = run(far_person(si=si, fund=()))
    assert set(found) == {Rule.SI_UNIT_MISMATCH}
    assert found[Rule.SI_UNIT_MISMATCH].evidence["paid"]["2025-01"][0]["types"] == ["01", "02", "03", "04", "05"]
    assert len(found[Rule.SI_UNIT_MISMATCH].evidence["paid"]["2025-01"]) == 1


def test_two_fund_payers_in_the_latest_month():
    fund = deposits(WINDOW, HOME, HOME_NAME) + deposits(["2025-01"], FAR, FAR_NAME)
    found = run(home_person(fund=fund))
    assert set(found) == {Rule.FUND_MULTIPLE_UNITS}
    assert (found[Rule.FUND_MULTIPLE_UNITS].severity, found[Rule.FUND_MULTIPLE_UNITS].evidence["source"]) == (
        "low",
        "fund",
    )


# --- SI_NONE ---------------------------------------------------------------------------------


def test_no_social_insurance_at_all():
    found = run(home_person(si=()))
    assert set(found) == {Rule.SI_NONE}
    f = found[Rule.SI_NONE]
    assert (f.status, f.severity, f.evidence["source"], f.evidence["months"]) == (
        "open",
        "low",
        "insurance",
        list(WINDOW),
    )
    assert (f.evidence["paid"], f.evidence["batch_ids"]) == ({}, ["reg-1"])


def test_si_none_waits_for_the_provinces_insurance_data():
    # The 社保 feed has sent nothing for the window yet (or only months before it): no lead.
    assert run(home_person(si=(), insurance_data_months=frozenset())) == {}
    assert run(home_person(si=(), insurance_data_months=frozenset({"2023-01"}))) == {}
    # One month of the window has arrived: the absence is evidence, and the evidence says which months.
    f = run(home_person(si=(), insurance_data_months=frozenset({WINDOW[-1]})))[Rule.SI_NONE]
    assert (f.status, f.evidence["data_months"]) == ("open", [WINDOW[-1]])


def test_no_housing_fund_is_not_flagged():
    assert run(home_person(fund=())) == {}


def test_bought_out_insurance_exempts_si_none():
    f = run(home_person(si=(), statuses=[PersonStatus("bought_out", date(2010, 1, 1))]))[Rule.SI_NONE]
    assert (f.status, f.exemption) == ("exempted", Exemption.SI_BOUGHT_OUT)
    assert f.evidence["person_status"] == {"status": "bought_out", "since": "2010-01-01"}


def test_bought_out_does_not_exempt_a_mismatch():
    f = run(far_person(statuses=[PersonStatus("bought_out", None)]))[Rule.SI_UNIT_MISMATCH]
    assert f.status == "open"


# --- MULTI_REGISTRATION -------------------------------------------------------------------------


def test_registrations_at_two_units():
    p = person(
        reg(HOME_NAME, cert="A1"),
        reg(FAR_NAME, category="cost_1", cert="B1", batch="reg-2"),
        si=paid(WINDOW, HOME, HOME_NAME),
    )
    found = run(p)
    assert set(found) == {Rule.MULTI_REGISTRATION}
    f = found[Rule.MULTI_REGISTRATION]
    assert (f.severity, f.evidence["source"], f.evidence["batch_ids"]) == ("high", "registry", ["reg-1", "reg-2"])
    assert f.evidence["units"] == sorted(
        [
            {"name": HOME_NAME, "uscc": HOME, "certificate_nos": ["A1"]},
            {"name": FAR_NAME, "uscc": FAR, "certificate_nos": ["B1"]},
        ],
        key=itemgetter("uscc"),
    )


def test_several_certificates_at_one_unit_are_fine():
    p = person(
        reg(HOME_NAME, cert="A1"),
        reg("内蒙古华建建设有限公司 ", category="cost_1", cert="A2"),
        reg("另一个写法", HOME, category="supervision", cert="A3"),  # carries the USCC
        reg(RENAMED_FORMER, cert="R1", status="cancelled"),
        si=paid(WINDOW, HOME, HOME_NAME),
    )
    assert run(p) == {}


def test_two_names_resolving_to_one_uscc_are_one_unit():
    p = person(
        reg(RENAMED_NAME, cert="A1"),
        reg(RENAMED_FORMER, cert="A2"),
        reg("x", RENAMED, cert="A3"),
        si=paid(WINDOW, RENAMED, RENAMED_NAME),
    )
    assert run(p) == {}


def test_unknown_units_are_compared_by_normalised_name():
    assert run(person(reg("某某公司"), reg("某某 公司"), si=paid(WINDOW, uscc("91", 99), "某某公司"))) == {}
    assert Rule.MULTI_REGISTRATION in run(
        person(reg("某某公司"), reg("某某建设公司"), si=paid(WINDOW, uscc("91", 99), "某某公司"))
    )


def test_look_alike_registered_units_are_two_units():
    p = person(reg(HOME_NAME, cert="A1"), reg(LOOKALIKE_NAME, cert="A2"), si=paid(WINDOW, HOME, HOME_NAME))
    assert Rule.MULTI_REGISTRATION in run(p)


# --- PUBLIC_SECTOR_SI / HR_AGENCY_SI ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("payer", "name", "suggested"),
    [
        (ORGAN, ORGAN_NAME, None),  # 11: a 机关, not in the unit feed
        (ABSENT_INSTITUTION, ABSENT_INSTITUTION_NAME, "INSTITUTION_REFORM"),  # 12: 事业单位, not in the feed
        (INSTITUTE, INSTITUTE_NAME, "INSTITUTION_REFORM"),
        (UNIVERSITY, UNIVERSITY_NAME, "UNIVERSITY_STAFF"),
    ],
)
def test_public_body_paying(payer, name, suggested):
    found = run(far_person(si=paid(WINDOW, payer, name), fund=()))
    assert set(found) == {Rule.PUBLIC_SECTOR_SI, Rule.SI_UNIT_MISMATCH}
    f = found[Rule.PUBLIC_SECTOR_SI]
    assert (f.status, f.exemption, f.severity, f.evidence["months"]) == ("open", None, "high", ["2025-01"])
    assert f.evidence["public_payers"] == [payer]
    assert f.evidence.get("suggested_exemption") == suggested
    assert found[Rule.SI_UNIT_MISMATCH].evidence.get("suggested_exemption") == suggested
    assert found[Rule.SI_UNIT_MISMATCH].status == "open"  # a suggestion is not an exemption
    entry = f.evidence["paid"]["2025-01"][0]
    assert entry["in_directory"] == (UNITS.by_uscc(payer) is not None)
    assert entry["kind"] in ("government", "public_institution", "university")


def test_a_public_body_that_is_the_registered_unit_is_fine():
    p = person(reg(INSTITUTE_NAME, category="survey_design"), si=paid(WINDOW, INSTITUTE, INSTITUTE_NAME))
    assert run(p) == {}


def test_public_body_only_before_the_latest_month_does_not_count():
    si = paid(WINDOW[:-1], ORGAN, ORGAN_NAME) + paid(["2025-01"], HOME, HOME_NAME)
    assert run(home_person(si=si)) == {}


def test_hr_agency_paying():
    found = run(far_person(si=paid(WINDOW, AGENCY, AGENCY_NAME), fund=()))
    assert set(found) == {Rule.HR_AGENCY_SI, Rule.SI_UNIT_MISMATCH}
    f = found[Rule.HR_AGENCY_SI]
    assert (f.status, f.severity, f.evidence["hr_agencies"]) == ("open", "medium", [AGENCY])
    assert f.evidence["paid"]["2025-01"][0]["kind"] == "hr_agency"


def test_hr_agency_paying_beside_the_registered_unit():
    si = paid(WINDOW, HOME, HOME_NAME) + paid(["2025-01"], AGENCY, AGENCY_NAME)
    assert set(run(home_person(si=si))) == {Rule.HR_AGENCY_SI, Rule.SI_MULTIPLE_UNITS}


# --- AGE_OVER_LIMIT ---------------------------------------------------------------------------


def test_age_over_limit_boundary():
    # 65th birthday 2024-12-31: before 2025-01-01 → fires; on 2025-01-01 → not yet.
    f = run(home_person(birth=date(1959, 12, 31)))[Rule.AGE_OVER_LIMIT]
    assert (f.status, f.severity, f.evidence["source"]) == ("open", "medium", "registry")
    assert (f.evidence["birth_date"], f.evidence["limit_date"]) == ("1959-12-31", "2024-12-31")
    assert Rule.AGE_OVER_LIMIT not in run(home_person(birth=date(1960, 1, 1)))


def test_age_limit_applies_to_the_limited_categories_only():
    assert {"constructor_1", "constructor_2", "supervision"} == {str(c) for c in AGE_LIMITED}
    old = date(1940, 1, 1)
    for category in ("constructor_2", "supervision"):
        assert Rule.AGE_OVER_LIMIT in run(
            person(reg(HOME_NAME, category=category), si=paid(WINDOW, HOME, HOME_NAME), birth=old)
        )
    assert run(person(reg(HOME_NAME, category="architect_1"), si=paid(WINDOW, HOME, HOME_NAME), birth=old)) == {}
    # A cancelled constructor certificate beside an active architect one: not over the limit.
    p = person(
        reg(HOME_NAME, category="architect_1"),
        reg(HOME_NAME, category="constructor_1", status="cancelled"),
        si=paid(WINDOW, HOME, HOME_NAME),
        birth=old,
    )
    assert run(p) == {}
    # The evidence lists the age-limited registrations.
    p = person(
        reg(HOME_NAME, category="architect_1", cert="A"),
        reg(HOME_NAME, category="supervision", cert="S"),
        si=paid(WINDOW, HOME, HOME_NAME),
        birth=old,
    )
    assert [r["certificate_no"] for r in run(p)[Rule.AGE_OVER_LIMIT].evidence["registered"]] == ["S"]


def test_february_29_turns_65_on_march_1_in_a_common_year():
    assert anniversary(date(1960, 2, 29), 65) == date(2025, 3, 1)
    assert anniversary(date(1960, 2, 29), 64) == date(2024, 2, 29)
    assert anniversary(date(1960, 3, 1), 65) == date(2025, 3, 1)
    leapling = {"birth": date(1960, 2, 29), "si": paid(["2025-02", "2025-03"], HOME, HOME_NAME)}
    assert Rule.AGE_OVER_LIMIT not in run(home_person(**leapling), Policy(review_month="2025-03"))
    f = run(home_person(**leapling), Policy(review_month="2025-04"))[Rule.AGE_OVER_LIMIT]
    assert f.evidence["limit_date"] == "2025-03-01"


def test_unknown_birth_date_never_fires_age():
    assert run(home_person(birth=date.min)) == {}


def test_retiree_over_65_is_over_age_while_insurance_rules_are_exempted():
    p = far_person(birth=date(1955, 3, 1), statuses=[RETIRED])
    found = run(p)
    assert set(found) == {Rule.AGE_OVER_LIMIT, Rule.SI_UNIT_MISMATCH, Rule.FUND_UNIT_MISMATCH}
    assert (found[Rule.AGE_OVER_LIMIT].status, found[Rule.AGE_OVER_LIMIT].exemption) == ("open", None)
    for rule in (Rule.SI_UNIT_MISMATCH, Rule.FUND_UNIT_MISMATCH):
        assert (found[rule].status, found[rule].exemption) == ("exempted", Exemption.RETIRED)
        assert found[rule].evidence["person_status"] == {"status": "retired", "since": "2015-03-01"}


def test_retired_exempts_si_none_and_multiple_units():
    early = [PersonStatus("early_retired", None)]
    assert run(home_person(si=(), statuses=early))[Rule.SI_NONE].exemption is Exemption.RETIRED
    fund = deposits(WINDOW, HOME, HOME_NAME) + deposits(["2025-01"], FAR, FAR_NAME)
    assert run(home_person(fund=fund, statuses=early))[Rule.FUND_MULTIPLE_UNITS].exemption is Exemption.RETIRED


def test_retired_does_not_exempt_multi_registration():
    p = person(reg(HOME_NAME), reg(FAR_NAME), si=paid(WINDOW, HOME, HOME_NAME), statuses=[RETIRED])
    assert run(p)[Rule.MULTI_REGISTRATION].status == "open"


def test_a_status_that_starts_after_the_review_month_does_not_count():
    f = run(far_person(statuses=[PersonStatus("retired", date(2025, 2, 1))]))[Rule.SI_UNIT_MISMATCH]
    assert f.status == "open"
    f = run(far_person(statuses=[PersonStatus("retired", date(2025, 1, 31))]))[Rule.SI_UNIT_MISMATCH]
    assert f.status == "exempted"


# --- BRANCH_OFFICE ------------------------------------------------------------------------------


def test_a_branch_paying_is_exempted_as_branch_office():
    p = person(reg(HEAD_NAME), si=paid(WINDOW, BRANCH, BRANCH_NAME), fund=deposits(WINDOW, BRANCH, BRANCH_NAME))
    found = run(p)
    assert set(found) == {Rule.SI_UNIT_MISMATCH, Rule.FUND_UNIT_MISMATCH}
    for f in found.values():
        assert (f.status, f.exemption) == ("exempted", Exemption.BRANCH_OFFICE)
        assert f.evidence["paid"]["2025-01"][0]["branch"] is True


def test_the_head_office_paying_for_a_branch_registration_is_exempted_too():
    f = run(person(reg(BRANCH_NAME), si=paid(WINDOW, HEAD, HEAD_NAME)))[Rule.SI_UNIT_MISMATCH]
    assert f.exemption is Exemption.BRANCH_OFFICE


def test_branch_office_needs_every_mismatching_payer_related():
    si = paid(WINDOW, BRANCH, BRANCH_NAME) + paid(["2025-01"], FAR, FAR_NAME)
    f = run(person(reg(HEAD_NAME), si=si))[Rule.SI_UNIT_MISMATCH]
    assert (f.status, f.exemption) == ("open", None)


# --- granted exemptions -----------------------------------------------------------------------


def test_a_granted_exemption_for_one_rule_only():
    granted = [GrantedExemption(Exemption.OTHER_LEGAL_BASIS, Rule.SI_UNIT_MISMATCH, "case-7")]
    found = run(far_person(granted=granted))
    si, fund = found[Rule.SI_UNIT_MISMATCH], found[Rule.FUND_UNIT_MISMATCH]
    assert (si.status, si.exemption) == ("exempted", Exemption.OTHER_LEGAL_BASIS)
    assert si.evidence["granted"] == [
        {"exemption": "OTHER_LEGAL_BASIS", "rule": "SI_UNIT_MISMATCH", "case_ref": "case-7"}
    ]
    assert (fund.status, fund.exemption) == ("open", None)


@pytest.mark.parametrize(
    "exemption",
    [
        Exemption.INSTITUTION_REFORM,
        Exemption.UNIVERSITY_STAFF,
        Exemption.MILITARY_SELF_EMPLOYED,
        Exemption.OTHER_LEGAL_BASIS,
    ],
)
def test_a_granted_exemption_for_every_rule(exemption):
    p = far_person(
        si=paid(WINDOW, UNIVERSITY, UNIVERSITY_NAME),
        birth=date(1950, 1, 1),
        granted=[GrantedExemption(exemption, None, "case-9")],
    )
    found = run(p)
    assert set(found) == {Rule.SI_UNIT_MISMATCH, Rule.FUND_UNIT_MISMATCH, Rule.PUBLIC_SECTOR_SI, Rule.AGE_OVER_LIMIT}
    assert all((f.status, f.exemption) == ("exempted", exemption) for f in found.values())


def test_a_grant_wins_over_an_automatic_exemption_and_both_are_listed():
    granted = [GrantedExemption(Exemption.MILITARY_SELF_EMPLOYED, Rule.SI_UNIT_MISMATCH, "case-3")]
    f = run(far_person(statuses=[RETIRED], granted=granted))[Rule.SI_UNIT_MISMATCH]
    assert f.exemption is Exemption.MILITARY_SELF_EMPLOYED
    assert f.evidence["exemptions"] == ["MILITARY_SELF_EMPLOYED", "RETIRED"]


# --- region, severity, evidence -------------------------------------------------------------------


def test_region_is_that_of_the_latest_active_registration():
    p = person(
        reg(HOME_NAME, registered_on=date(2019, 1, 1), region="150102", cert="A1"),
        reg(HOME_NAME, registered_on=date(2022, 6, 1), region="150402", cert="A2"),
        reg(HOME_NAME, registered_on=date(2023, 1, 1), region="150602", cert="A3", status="cancelled"),
        si=paid(WINDOW, FAR, FAR_NAME),
    )
    assert run(p)[Rule.SI_UNIT_MISMATCH].region_code == "150402"


def test_severity_is_a_table_over_every_rule():
    assert set(SEVERITY) == set(Rule)
    assert {rule for rule, s in SEVERITY.items() if s == "high"} == {
        Rule.SI_UNIT_MISMATCH,
        Rule.MULTI_REGISTRATION,
        Rule.PUBLIC_SECTOR_SI,
    }
    assert {rule for rule, s in SEVERITY.items() if s == "low"} == {Rule.SI_NONE, Rule.FUND_MULTIPLE_UNITS}


def test_evidence_is_deterministic_and_carries_no_id_number():
    si = paid(WINDOW, FAR, FAR_NAME) + paid(WINDOW, AGENCY, AGENCY_NAME) + paid(WINDOW, ORGAN, ORGAN_NAME)
    p = person(reg(HOME_NAME), reg(LOOKALIKE_NAME), si=si, birth=date(1950, 1, 1))
    first, again = evaluate(p, UNITS, POLICY), evaluate(replace(p, contributions=tuple(reversed(si))), UNITS, POLICY)
    assert first == again
    text = json.dumps([f.evidence for f in first], ensure_ascii=False)
    assert '"id_number"' not in text and "150102**********34" in text  # masked only
    common = {
        "rule_set_version",
        "review_month",
        "masked_id",
        "source",
        "window",
        "months",
        "registered",
        "hints",
        "batch_ids",
    }
    assert all(common <= set(f.evidence) for f in first)


# --- speed (printed, not asserted) ------------------------------------------------------------------


def _synthetic(n: int, seed: int = 7):
    rng = random.Random(seed)
    codes = [uscc("91", 1000 + i) for i in range(2000)]
    agency = unit(uscc("91", 9000), "某人力资源服务有限公司", kind="hr_agency")
    directory = UnitDirectory([*(unit(code, f"内蒙古第{i}建设工程有限公司") for i, code in enumerate(codes)), agency])
    people = []
    for i in range(n):
        home = rng.randrange(len(codes))
        home_name = f"内蒙古第{home}建设工程有限公司"
        payer, payer_name = codes[home], home_name
        roll = rng.random()
        if roll < 0.10:  # paid by another unit
            other = (home + 1) % len(codes)
            payer, payer_name = codes[other], f"内蒙古第{other}建设工程有限公司"
        elif roll < 0.12:
            payer, payer_name = agency.uscc, agency.name
        si = paid(WINDOW, payer, payer_name) if roll > 0.03 else ()
        if 0.5 < roll < 0.55:
            si += paid(["2025-01"], codes[(home + 2) % len(codes)], "x")
        people.append(
            person(
                reg(home_name, registered_on=date(2015 + i % 10, 1 + i % 12, 1)),
                si=si,
                fund=deposits(WINDOW, payer, payer_name),
                birth=date(1955 + i % 45, 1 + i % 12, 1 + i % 28),
                statuses=[RETIRED] if roll > 0.97 else [],
                key=f"p{i}",
            )
        )
    return people, directory


def test_speed_is_printed(capsys):
    people, directory = _synthetic(20_000)
    start = time.perf_counter()
    fired = sum(len(evaluate(p, directory, POLICY)) for p in people)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nrules.evaluate: {len(people)} persons, {fired} findings, {elapsed * 1e6 / len(people):.1f} µs/person")
    assert fired > 0
