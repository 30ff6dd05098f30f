"""Resolution of a registered unit against a paying unit (DOMAIN §6 "same unit"): pure, no I/O."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rapidfuzz import fuzz

sys.path.insert(0, str(Path(__file__).parent))

from rule_inputs import reg, unit, uscc

from matcher_svc.domain import UnitDirectory
from matcher_svc.resolution import HINT_THRESHOLD, prepare, related_as_branch, resolve

HUAJIAN = uscc("91", 1)
HUAJIAN_BUILDING = uscc("91", 2)
HEAD = uscc("91", 3)
BRANCH = uscc("91", 4)
OTHER_BRANCH = uscc("91", 5)
RENAMED = uscc("91", 6)
NEWCOMER = uscc("91", 7)

UNITS = UnitDirectory(
    [
        unit(HUAJIAN, "内蒙古华建建设有限公司"),
        unit(HUAJIAN_BUILDING, "内蒙古华建建筑有限公司"),
        unit(HEAD, "包头市鹿城建工集团有限公司"),
        unit(BRANCH, "包头市鹿城建工集团有限公司赤峰分公司", head=HEAD),
        unit(OTHER_BRANCH, "包头市鹿城建工集团有限公司通辽分公司", head=HEAD),
        unit(RENAMED, "呼和浩特市青城路桥工程有限公司", former=["呼和浩特市青城市政工程有限公司"]),
    ]
)


def test_equal_uscc_is_the_same_unit():
    r = resolve(reg("随便写的名字", HUAJIAN), HUAJIAN, "内蒙古华建建设有限公司", UNITS)
    assert (r.same, r.how, r.registered_uscc, r.hint) == (True, "uscc_equal", HUAJIAN, None)


def test_a_registration_with_a_uscc_is_judged_by_it_alone():
    # Same name, other code: different, and the hint says why it looks the same.
    r = resolve(reg("内蒙古华建建设有限公司", HUAJIAN_BUILDING), HUAJIAN, "内蒙古华建建设有限公司", UNITS)
    assert (r.same, r.how, r.registered_uscc) == (False, "different", HUAJIAN_BUILDING)
    assert r.hint is not None and HUAJIAN_BUILDING in r.hint and HUAJIAN in r.hint


def test_exact_name_of_the_payer_in_the_directory():
    r = resolve(reg("内蒙古华建建设有限公司"), HUAJIAN, "whatever the insurer wrote", UNITS)
    assert (r.same, r.how, r.registered_uscc) == (True, "name_exact", HUAJIAN)


def test_full_width_brackets_and_spaces_are_the_same_name():
    code = uscc("91", 20)
    units = UnitDirectory([unit(code, "内蒙古兴泰建设(集团)有限公司")])
    r = resolve(reg("内蒙古兴泰建设（集团）　有限 公司"), code, "", units)
    assert (r.same, r.how) == (True, "name_exact")
    # ... and against the name on the payment record when the payer is not in the directory.
    r = resolve(reg("内蒙古兴泰建设（集团） 有限公司"), uscc("91", 21), "内蒙古兴泰建设(集团)有限公司", UnitDirectory())
    assert (r.same, r.how, r.registered_uscc) == (True, "name_exact", uscc("91", 21))


def test_former_name_of_the_payer():
    r = resolve(reg("呼和浩特市青城市政工程有限公司"), RENAMED, "呼和浩特市青城路桥工程有限公司", UNITS)
    assert (r.same, r.how, r.registered_uscc) == (True, "former_name", RENAMED)


def test_look_alike_names_are_different_with_a_hint():
    r = resolve(reg("内蒙古华建建设有限公司"), HUAJIAN_BUILDING, "内蒙古华建建筑有限公司", UNITS)
    assert (r.same, r.how) == (False, "different")
    assert r.registered_uscc == HUAJIAN  # the registered name is a unit of its own
    assert (
        r.hint
        == "registered name 内蒙古华建建设有限公司 is very close to paying unit 内蒙古华建建筑有限公司 but not the same"
    )


def test_look_alike_payer_absent_from_the_directory_still_gets_a_hint():
    r = resolve(reg("内蒙古华建建设有限公司"), uscc("91", 30), "内蒙古华建建没有限公司", UnitDirectory())
    assert (r.same, r.registered_uscc) == (False, None)
    assert r.hint is not None and "内蒙古华建建没有限公司" in r.hint


def test_unrelated_names_have_no_hint():
    r = resolve(reg("内蒙古华建建设有限公司"), HEAD, "包头市鹿城建工集团有限公司", UNITS)
    assert (r.same, r.how, r.hint) == (False, "different", None)


def test_hint_threshold_documents_its_reach():
    # One character in 11 → 90.9; one in 4 → 75: too short a name to call it a look-alike.
    assert fuzz.ratio("内蒙古华建建设有限公司", "内蒙古华建建筑有限公司") >= HINT_THRESHOLD
    assert fuzz.ratio("华建公司", "华筑公司") < HINT_THRESHOLD
    r = resolve(reg("华建公司"), uscc("91", 31), "华筑公司", UnitDirectory())
    assert (r.same, r.hint) == (False, None)


def test_a_branch_and_its_head_office_are_different_units():
    r = resolve(reg("包头市鹿城建工集团有限公司"), BRANCH, "包头市鹿城建工集团有限公司赤峰分公司", UNITS)
    assert (r.same, r.registered_uscc) == (False, HEAD)
    assert related_as_branch(BRANCH, HEAD, UNITS) and related_as_branch(HEAD, BRANCH, UNITS)
    assert not related_as_branch(BRANCH, OTHER_BRANCH, UNITS)  # siblings are not head and branch
    assert not related_as_branch(HEAD, HEAD, UNITS)
    assert not related_as_branch(HEAD, None, UNITS)
    assert not related_as_branch(HUAJIAN, HEAD, UNITS)


def test_a_name_now_borne_by_another_unit_does_not_resolve_to_the_payer():
    # RENAMED's former name was taken by a newcomer: the registration names the newcomer.
    units = UnitDirectory(
        [
            unit(RENAMED, "呼和浩特市青城路桥工程有限公司", former=["呼和浩特市青城市政工程有限公司"]),
            unit(NEWCOMER, "呼和浩特市青城市政工程有限公司"),
        ]
    )
    r = resolve(reg("呼和浩特市青城市政工程有限公司"), RENAMED, "呼和浩特市青城市政工程有限公司", units)
    assert (r.same, r.how, r.registered_uscc) == (False, "different", NEWCOMER)
    assert r.hint is not None and NEWCOMER in r.hint
    # The newcomer paying is the same unit.
    assert resolve(reg("呼和浩特市青城市政工程有限公司"), NEWCOMER, "", units).how == "name_exact"


def test_prepare_resolves_the_registered_name_once():
    assert prepare(reg("内蒙古华建建设（集团）有限公司"), UNITS).name_norm == "内蒙古华建建设(集团)有限公司"
    assert prepare(reg("x", HEAD), UNITS).resolved_by == "uscc"
    p = prepare(reg("内蒙古华建建设有限公司"), UNITS)
    assert (p.resolved_uscc, p.resolved_by) == (HUAJIAN, "name")
    p = prepare(reg("呼和浩特市青城市政工程有限公司"), UNITS)
    assert (p.resolved_uscc, p.resolved_by) == (RENAMED, "former_name")
    assert prepare(reg("不存在的公司"), UNITS).resolved_by == "unknown"
    twins = UnitDirectory([unit(uscc("91", 40), "同名公司"), unit(uscc("91", 41), "同名公司")])
    p = prepare(reg("同名公司"), twins)
    assert (p.resolved_uscc, p.resolved_by) == (None, "ambiguous")


@pytest.mark.parametrize(
    ("registered", "payer", "same"),
    [
        ("内蒙古华建建设有限公司", "内蒙古华建建设有限公司 ", True),
        ("ＡＢＣ建设有限公司", "ABC建设有限公司", True),  # full-width letters
        ("内蒙古华建建设有限公司", "内蒙古华建建设有限责任公司", False),
        ("内蒙古华建建设有限公司", "内蒙古华建建设有限公司一分公司", False),
        ("", "", False),  # no name is no evidence
    ],
)
def test_names_on_the_payment_record(registered, payer, same):
    assert resolve(reg(registered), uscc("91", 50), payer, UnitDirectory()).same is same
