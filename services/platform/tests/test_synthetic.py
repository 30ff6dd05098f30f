"""Tests of devtools.synthetic (the generated province and its scenarios), and of the category and record tables it is built on."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import pytest

from devtools.synthetic import CONSISTENT, SCENARIO_SHARES, SyntheticProvince, generate_province, write_csv
from domain.categories import (
    AGE_LIMITED,
    CATEGORY_LABELS,
    MINISTRY_MANAGED,
    PROVINCE_MANAGED,
    Category,
    category_from_text,
)
from domain.identifiers import (
    UnitKind,
    birth_date_from_id,
    is_public_body_uscc,
    is_valid_id_number,
    is_valid_uscc,
    normalize_unit_name,
)
from domain.records import FIELDS, ZH_HEADERS, RecordKind

PEOPLE = 2000
REVIEW_MONTH = "2024-10"
PERIODS = ["2024-05", "2024-06", "2024-07", "2024-08", "2024-09", "2024-10"]


@pytest.fixture(scope="module")
def province() -> SyntheticProvince:
    return generate_province(people=PEOPLE, seed=7, review_month=REVIEW_MONTH)


@pytest.fixture(scope="module")
def by_person(province: SyntheticProvince) -> dict[str, dict[str, list[dict[str, Any]]]]:
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for kind in ("registrations", "contributions", "deposits", "person_statuses"):
        for row in getattr(province, kind):
            grouped[row["id_number"]][kind].append(row)
    return grouped


@pytest.fixture(scope="module")
def units_by_uscc(province: SyntheticProvince) -> dict[str, dict[str, Any]]:
    return {unit["uscc"]: unit for unit in province.units}


def people_in(province: SyntheticProvince, scenario: str) -> list[str]:
    return [id_number for id_number, name in province.scenarios.items() if name == scenario]


def active(registrations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in registrations if row["status"] == "active"]


def payers(rows: list[dict[str, Any]], period: str | None = None) -> set[str]:
    return {row["unit_uscc"] for row in rows if period is None or row["period"] == period}


# --- validity and shape ---------------------------------------------------------------------


def test_every_identifier_is_valid(province: SyntheticProvince) -> None:
    for kind in ("registrations", "contributions", "deposits", "person_statuses"):
        assert all(is_valid_id_number(row["id_number"]) for row in getattr(province, kind)), kind
    assert all(is_valid_uscc(unit["uscc"]) for unit in province.units)
    assert all(is_valid_uscc(row["unit_uscc"]) for row in province.contributions + province.deposits)
    assert all(is_valid_uscc(row["unit_uscc"]) for row in province.registrations if row["unit_uscc"])


def test_records_have_exactly_the_contract_fields(province: SyntheticProvince) -> None:
    for kind in RecordKind:
        rows = getattr(province, kind.value)
        assert rows, kind
        assert all(set(row) == set(FIELDS[kind]) for row in rows), kind


def test_counts(province: SyntheticProvince, by_person: dict) -> None:
    assert len(province.scenarios) == PEOPLE
    # Counts and booleans rather than sets of ID numbers keep failure output free of them.
    assert len(by_person) == PEOPLE and all(id_number in province.scenarios for id_number in by_person)
    assert PEOPLE <= len(province.registrations) < PEOPLE * 1.2
    for id_number in people_in(province, CONSISTENT):
        contributions = by_person[id_number]["contributions"]
        assert sorted(row["period"] for row in contributions) == PERIODS
        assert len(by_person[id_number]["deposits"]) in (0, len(PERIODS))


def test_identifiers_are_unique(province: SyntheticProvince) -> None:
    assert len({unit["uscc"] for unit in province.units}) == len(province.units)
    assert len({unit["name"] for unit in province.units}) == len(province.units)
    certificates = [row["certificate_no"] for row in province.registrations]
    assert len(set(certificates)) == len(certificates)


def test_unit_feed_shape(province: SyntheticProvince, units_by_uscc: dict) -> None:
    kinds = Counter(unit["kind"] for unit in province.units)
    for kind in ("enterprise", "government", "public_institution", "university", "hr_agency"):
        assert kinds[kind] > 0, kind
    for unit in province.units:
        assert unit["region_code"][:2] == "15"
        if unit["kind"] in ("government", "public_institution", "university"):
            assert is_public_body_uscc(unit["uscc"])
        else:
            assert unit["uscc"][:2] == "91"
        if unit["head_office_uscc"]:
            head = units_by_uscc[unit["head_office_uscc"]]
            assert unit["name"].startswith(head["name"]) and unit["name"].endswith("分公司")
    assert any(unit["former_names"] for unit in province.units)


def test_unit_uscc_is_usually_missing_from_registrations(province: SyntheticProvince) -> None:
    share = sum(row["unit_uscc"] is None for row in province.registrations) / len(province.registrations)
    assert 0.6 < share < 0.8


def test_some_ids_carry_birthplaces_outside_today_s_province(province: SyntheticProvince) -> None:
    areas = {id_number[:6] for id_number in province.scenarios}
    assert "152601" in areas or "152101" in areas  # abolished counties
    assert any(not area.startswith("15") for area in areas)


def test_same_seed_same_province() -> None:
    first = generate_province(people=300, seed=11)
    second = generate_province(people=300, seed=11)
    assert first == second
    assert generate_province(people=300, seed=12).registrations != first.registrations


def test_insurance_types_multiply_contributions() -> None:
    one = generate_province(people=200, seed=5)
    three = generate_province(people=200, seed=5, insurance_types=("01", "03", "05"))
    assert len(three.contributions) == 3 * len(one.contributions)
    assert {row["insurance_type"] for row in three.contributions} == {"01", "03", "05"}


def test_without_payments_only_the_registry_and_statuses() -> None:
    province = generate_province(people=200, seed=5, with_payments=False)
    assert province.contributions == [] and province.deposits == []
    assert province.registrations and province.units


def test_heilongjiang_is_available() -> None:
    province = generate_province(people=200, seed=5, province="230000", review_month="2019-01")
    assert all(unit["region_code"][:2] == "23" for unit in province.units)
    assert all(row["certificate_no"].startswith("黑") for row in province.registrations)
    assert max(row["period"] for row in province.contributions) == "2019-01"


def test_unknown_province_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_province(people=10, province="110000")


# --- scenarios --------------------------------------------------------------------------


def test_every_scenario_is_present(province: SyntheticProvince) -> None:
    counts = Counter(province.scenarios.values())
    assert set(counts) == set(SCENARIO_SHARES) | {CONSISTENT}
    assert 0.8 < counts[CONSISTENT] / PEOPLE < 0.9


def test_scenario_is_not_in_the_records(province: SyntheticProvince) -> None:
    assert all("scenario" not in row for row in province.registrations + province.contributions)


def test_consistent_people_are_paid_by_their_registered_unit(
    province: SyntheticProvince, by_person: dict, units_by_uscc: dict
) -> None:
    for id_number in people_in(province, CONSISTENT):
        registered = {row["unit_name"] for row in active(by_person[id_number]["registrations"])}
        assert len(registered) == 1
        paid = {units_by_uscc[uscc]["name"] for uscc in payers(by_person[id_number]["contributions"])}
        assert paid == registered


def test_paid_by_other_enterprise(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    for id_number in people_in(province, "paid_by_other_enterprise"):
        registered = {row["unit_name"] for row in active(by_person[id_number]["registrations"])}
        paying = payers(by_person[id_number]["contributions"])
        assert len(paying) == 1
        payer = units_by_uscc[paying.pop()]
        assert payer["kind"] == "enterprise" and payer["name"] not in registered


def test_paid_by_public_body(province: SyntheticProvince, by_person: dict) -> None:
    for id_number in people_in(province, "paid_by_public_body"):
        assert all(is_public_body_uscc(uscc) for uscc in payers(by_person[id_number]["contributions"]))


def test_paid_by_hr_agency(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    for id_number in people_in(province, "paid_by_hr_agency"):
        kinds = {units_by_uscc[uscc]["kind"] for uscc in payers(by_person[id_number]["contributions"])}
        assert kinds == {UnitKind.hr_agency.value}


def test_two_payers_in_the_latest_month(province: SyntheticProvince, by_person: dict) -> None:
    for id_number in people_in(province, "two_payers_latest_month"):
        contributions = by_person[id_number]["contributions"]
        assert len(payers(contributions, PERIODS[-1])) == 2
        assert len(payers(contributions, PERIODS[0])) == 1


def test_no_insurance(province: SyntheticProvince, by_person: dict) -> None:
    for id_number in people_in(province, "no_insurance"):
        assert active(by_person[id_number]["registrations"])
        assert not by_person[id_number]["contributions"]


def test_recently_moved(province: SyntheticProvince, by_person: dict) -> None:
    for id_number in people_in(province, "recently_moved"):
        (registration,) = by_person[id_number]["registrations"]
        assert registration["registered_on"] >= date(2024, 10, 1)
        contributions = by_person[id_number]["contributions"]
        assert payers(contributions, PERIODS[0]) and payers(contributions, PERIODS[-1])


def test_multi_registration(province: SyntheticProvince, by_person: dict) -> None:
    for id_number in people_in(province, "multi_registration"):
        registrations = active(by_person[id_number]["registrations"])
        assert len({row["unit_name"] for row in registrations}) == 2


def test_nobody_else_has_active_registrations_at_two_units(province: SyntheticProvince, by_person: dict) -> None:
    for id_number, scenario in province.scenarios.items():
        if scenario != "multi_registration":
            units = {normalize_unit_name(row["unit_name"]) for row in active(by_person[id_number]["registrations"])}
            assert len(units) <= 1


def sixty_fifth_birthday(id_number: str) -> date:
    birth = birth_date_from_id(id_number)
    return birth.replace(year=birth.year + 65, day=28 if (birth.month, birth.day) == (2, 29) else birth.day)


def test_only_over_age_people_are_past_the_age_limit(province: SyntheticProvince, by_person: dict) -> None:
    review_start = date(2024, 10, 1)
    over = set()
    for id_number, rows in by_person.items():
        limited = any(row["category"] in AGE_LIMITED for row in active(rows["registrations"]))
        if limited and sixty_fifth_birthday(id_number) < review_start:
            over.add(id_number)
    planted = set(people_in(province, "over_age")) | set(people_in(province, "retired_over_age"))
    mismatched = len(over ^ planted)
    assert over and mismatched == 0


def test_retired_and_bought_out_have_statuses(province: SyntheticProvince, by_person: dict) -> None:
    for scenario, statuses in (("retired", {"retired", "early_retired"}), ("bought_out", {"bought_out"})):
        for id_number in people_in(province, scenario):
            (status,) = by_person[id_number]["person_statuses"]
            assert status["status"] in statuses
            assert not by_person[id_number]["contributions"]
    with_status = {row["id_number"] for row in province.person_statuses}
    expected = {
        id_number
        for scenario in (
            "retired",
            "bought_out",
            "retired_over_age",
            "retired_paid_by_two_others",
            "bought_out_fund_elsewhere",
        )
        for id_number in people_in(province, scenario)
    }
    assert len(with_status ^ expected) == 0


def test_branch_office_pairs(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    names = {unit["name"]: unit for unit in province.units}
    for id_number in people_in(province, "branch_office"):
        (registration,) = by_person[id_number]["registrations"]
        registered = names[registration["unit_name"]]
        (payer_uscc,) = payers(by_person[id_number]["contributions"])
        payer = units_by_uscc[payer_uscc]
        assert payer["uscc"] != registered["uscc"]
        assert payer["uscc"] == registered["head_office_uscc"] or registered["uscc"] == payer["head_office_uscc"]


def test_former_name(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    for id_number in people_in(province, "former_name"):
        (registration,) = by_person[id_number]["registrations"]
        (payer_uscc,) = payers(by_person[id_number]["contributions"])
        assert registration["unit_uscc"] is None
        assert registration["unit_name"] in units_by_uscc[payer_uscc]["former_names"]


def test_name_variant(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    for id_number in people_in(province, "name_variant"):
        (registration,) = by_person[id_number]["registrations"]
        (payer_uscc,) = payers(by_person[id_number]["contributions"])
        payer_name = units_by_uscc[payer_uscc]["name"]
        assert registration["unit_uscc"] is None
        assert registration["unit_name"] != payer_name
        assert normalize_unit_name(registration["unit_name"]) == normalize_unit_name(payer_name)


def test_lookalike_unit(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    assert any(unit["name"].endswith("华建建设有限公司") for unit in province.units)
    assert any(unit["name"].endswith("华建建筑有限公司") for unit in province.units)
    for id_number in people_in(province, "lookalike_unit"):
        (registration,) = by_person[id_number]["registrations"]
        (payer_uscc,) = payers(by_person[id_number]["contributions"])
        payer_name = units_by_uscc[payer_uscc]["name"]
        assert normalize_unit_name(registration["unit_name"]) != normalize_unit_name(payer_name)
        differing = sum(a != b for a, b in zip(registration["unit_name"], payer_name, strict=False))
        assert len(registration["unit_name"]) == len(payer_name) and differing == 1


def test_inactive_registration(province: SyntheticProvince, by_person: dict) -> None:
    for id_number in people_in(province, "inactive_registration"):
        (registration,) = by_person[id_number]["registrations"]
        assert registration["status"] in ("expired", "cancelled")
        if registration["status"] == "expired":
            assert registration["valid_until"] < date(2024, 10, 1)


def test_the_age_boundaries(province: SyntheticProvince, by_person: dict) -> None:
    review_start = date(2024, 10, 1)
    over_age = people_in(province, "over_age")
    assert any(sixty_fifth_birthday(i) == review_start - timedelta(days=1) for i in over_age)
    turning = people_in(province, "turns_65_in_review_month")
    assert any(sixty_fifth_birthday(i) == review_start for i in turning)
    for id_number in turning:
        assert review_start <= sixty_fifth_birthday(id_number) <= date(2024, 10, 31)
        assert all(row["category"] in AGE_LIMITED for row in by_person[id_number]["registrations"])
    for id_number in people_in(province, "retired_over_age"):
        assert all(row["category"] in AGE_LIMITED for row in by_person[id_number]["registrations"])
        assert by_person[id_number]["person_statuses"][0]["status"] == "retired"
        assert not by_person[id_number]["contributions"] and not by_person[id_number]["deposits"]


def test_retired_but_paid_by_two_others(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    for id_number in people_in(province, "retired_paid_by_two_others"):
        rows = by_person[id_number]
        assert rows["person_statuses"][0]["status"] in ("retired", "early_retired")
        assert rows["person_statuses"][0]["since"] < date(2024, 5, 1)
        (registration,) = rows["registrations"]
        for kind in ("contributions", "deposits"):
            assert len(payers(rows[kind], PERIODS[-1])) == 2 and len(payers(rows[kind], PERIODS[-2])) == 1
            assert all(units_by_uscc[uscc]["name"] != registration["unit_name"] for uscc in payers(rows[kind]))


def test_two_fund_payers_and_bought_out_fund_elsewhere(province: SyntheticProvince, by_person: dict) -> None:
    for id_number in people_in(province, "two_fund_payers_latest_month"):
        rows = by_person[id_number]
        assert len(payers(rows["deposits"], PERIODS[-1])) == 2 and len(payers(rows["deposits"], PERIODS[0])) == 1
        assert payers(rows["contributions"]) == payers(rows["deposits"], PERIODS[0])
    for id_number in people_in(province, "bought_out_fund_elsewhere"):
        rows = by_person[id_number]
        assert rows["person_statuses"][0]["status"] == "bought_out" and not rows["contributions"]
        assert len(rows["deposits"]) == len(PERIODS) and len(payers(rows["deposits"])) == 1


def test_moves_switches_and_gaps(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    def paid_by_registered(rows: dict, period: str) -> bool:
        (registration,) = active(rows["registrations"])
        return any(units_by_uscc[u]["name"] == registration["unit_name"] for u in payers(rows["contributions"], period))

    for id_number in people_in(province, "moved_last_month"):
        rows = by_person[id_number]
        assert date(2024, 9, 1) <= rows["registrations"][0]["registered_on"] <= date(2024, 9, 30)
        assert not any(paid_by_registered(rows, period) for period in PERIODS)
        assert sorted(row["period"] for row in rows["contributions"]) == PERIODS
    for id_number in people_in(province, "switched_payer_last_month"):
        rows = by_person[id_number]
        assert all(paid_by_registered(rows, period) for period in PERIODS[:-1])
        assert not paid_by_registered(rows, PERIODS[-1]) and len(payers(rows["contributions"], PERIODS[-1])) == 1
    for id_number in people_in(province, "paid_elsewhere_with_gaps"):
        rows = by_person[id_number]
        assert sorted(row["period"] for row in rows["contributions"]) == [PERIODS[1], PERIODS[3]]
        assert not any(paid_by_registered(rows, period) for period in PERIODS)


def test_public_body_and_hr_agency_as_registered_unit(
    province: SyntheticProvince, by_person: dict, units_by_uscc: dict
) -> None:
    for scenario, kind in (("employed_by_public_body", "public_institution"), ("registered_at_hr_agency", "hr_agency")):
        for id_number in people_in(province, scenario):
            (registration,) = by_person[id_number]["registrations"]
            (payer,) = payers(by_person[id_number]["contributions"])
            assert units_by_uscc[payer]["kind"] == kind and units_by_uscc[payer]["name"] == registration["unit_name"]


def test_paid_by_former_registered_unit(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    for id_number in people_in(province, "paid_by_former_registered_unit"):
        rows = by_person[id_number]
        (cancelled,) = [row for row in rows["registrations"] if row["status"] == "cancelled"]
        (current,) = active(rows["registrations"])
        (payer,) = payers(rows["contributions"])
        assert units_by_uscc[payer]["name"] == cancelled["unit_name"] != current["unit_name"]


def test_certificates_spelled_differently(province: SyntheticProvince, by_person: dict, units_by_uscc: dict) -> None:
    for id_number in people_in(province, "certificates_spelled_differently"):
        rows = by_person[id_number]
        first, second = active(rows["registrations"])
        (payer,) = payers(rows["contributions"])
        assert first["unit_name"] == units_by_uscc[payer]["name"] != second["unit_name"]
        assert second["unit_uscc"] is None
        assert normalize_unit_name(first["unit_name"]) == normalize_unit_name(second["unit_name"])


def test_active_registrations_are_valid_through_the_review_month(province: SyntheticProvince) -> None:
    for row in active(province.registrations):
        assert row["registered_on"] < row["valid_until"]
        assert row["valid_until"] > date(2024, 10, 31)


# --- CSV --------------------------------------------------------------------------------


def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_with_chinese_headers(province: SyntheticProvince) -> None:
    buffer = io.StringIO()
    count = write_csv(province.registrations, FIELDS[RecordKind.registrations], buffer, headers="zh")
    rows = read_back(buffer.getvalue())
    assert count == len(province.registrations) == len(rows) - 1
    assert rows[0][:3] == ["身份证号", "姓名", "注册类别"]
    assert rows[0] == [ZH_HEADERS[RecordKind.registrations][name] for name in FIELDS[RecordKind.registrations]]
    first = dict(zip(FIELDS[RecordKind.registrations], rows[1], strict=False))
    assert first["registered_on"] == province.registrations[0]["registered_on"].isoformat()
    assert first["unit_uscc"] == (province.registrations[0]["unit_uscc"] or "")


def test_csv_headers_depend_on_the_record_kind(province: SyntheticProvince) -> None:
    headers = {}
    for kind in (RecordKind.contributions, RecordKind.deposits):
        buffer = io.StringIO()
        write_csv(getattr(province, kind)[:5], FIELDS[kind], buffer, headers="zh")
        headers[kind] = read_back(buffer.getvalue())[0]
    assert "参保单位" in headers[RecordKind.contributions] and "缴存单位" in headers[RecordKind.deposits]


def test_csv_lists_none_and_english_headers(province: SyntheticProvince) -> None:
    renamed = [unit for unit in province.units if len(unit["former_names"]) >= 1]
    buffer = io.StringIO()
    write_csv(renamed, FIELDS[RecordKind.units], buffer)
    rows = read_back(buffer.getvalue())
    assert rows[0] == list(FIELDS[RecordKind.units])
    first = dict(zip(FIELDS[RecordKind.units], rows[1], strict=False))
    assert first["former_names"] == ";".join(renamed[0]["former_names"])
    assert first["head_office_uscc"] == (renamed[0]["head_office_uscc"] or "")


def test_csv_needs_a_kind_when_fields_are_ambiguous() -> None:
    with pytest.raises(ValueError):
        write_csv([], ("id_number", "unit_name"), io.StringIO(), headers="zh")
    buffer = io.StringIO()
    write_csv([], ("id_number", "unit_name"), buffer, headers="zh", kind="deposits")
    assert buffer.getvalue().strip() == "身份证号,缴存单位"


# --- the tables the generator is built on ------------------------------------------------


def test_every_record_kind_has_headers_for_each_field() -> None:
    assert set(FIELDS) == set(ZH_HEADERS) == set(RecordKind)
    for kind, fields in FIELDS.items():
        assert set(ZH_HEADERS[kind]) == set(fields)
        assert len(set(ZH_HEADERS[kind].values())) == len(fields)


@pytest.mark.parametrize("category", list(Category))
def test_category_from_code_or_label(category: Category) -> None:
    assert category_from_text(category.value) is category
    assert category_from_text(CATEGORY_LABELS[category]) is category
    assert category_from_text(f" {CATEGORY_LABELS[category]} ") is category


def test_category_aliases_and_unknowns() -> None:
    assert category_from_text("一级建造师") is Category.constructor_1
    assert category_from_text("注册土木工程师（岩土）") is Category.survey_design
    with pytest.raises(ValueError):
        category_from_text("三级建造师")


def test_category_sets() -> None:
    assert {Category.constructor_1, Category.constructor_2, Category.supervision} == AGE_LIMITED
    assert MINISTRY_MANAGED.isdisjoint(PROVINCE_MANAGED)
    assert set(Category) == MINISTRY_MANAGED | PROVINCE_MANAGED
    assert {
        Category.constructor_2,
        Category.architect_2,
        Category.structural_2,
        Category.cost_2,
    } == PROVINCE_MANAGED
