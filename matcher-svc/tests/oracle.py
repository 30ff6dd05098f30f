"""The test oracle of the rule catalog: the findings each synthetic person should get, from how the
generator made them (their scenario), never from the matcher — an independent check of the rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from devtools.synthetic import CONSISTENT, SyntheticProvince
from domain.categories import AGE_LIMIT_YEARS

Label = tuple[str, str, str | None]  # (rule code, "open" | "exempted", exemption code or None)

# The codes of matcher_svc.domain.Rule and Exemption that the scenarios produce (the
# labelled-province test checks the codes exist there).
PRODUCED_RULES: frozenset[str] = frozenset(
    {
        "SI_UNIT_MISMATCH",
        "FUND_UNIT_MISMATCH",
        "SI_MULTIPLE_UNITS",
        "FUND_MULTIPLE_UNITS",
        "SI_NONE",
        "MULTI_REGISTRATION",
        "PUBLIC_SECTOR_SI",
        "HR_AGENCY_SI",
        "AGE_OVER_LIMIT",
    }
)
PRODUCED_EXEMPTIONS: frozenset[str] = frozenset({"RETIRED", "SI_BOUGHT_OUT", "BRANCH_OFFICE"})


def _open(*rules: str) -> frozenset[Label]:
    return frozenset((rule, "open", None) for rule in rules)


def _exempted(exemption: str, *rules: str) -> frozenset[Label]:
    return frozenset((rule, "exempted", exemption) for rule in rules)


@dataclass(frozen=True)
class ScenarioLabels:
    """A scenario's findings: ``always``, plus ``with_fund`` when the generator wrote housing-fund deposits for the person."""

    always: frozenset[Label] = frozenset()
    with_fund: frozenset[Label] = frozenset()


_NONE = ScenarioLabels()
_SI_FUND_MISMATCH = ScenarioLabels(_open("SI_UNIT_MISMATCH"), _open("FUND_UNIT_MISMATCH"))

SCENARIO_LABELS: dict[str, ScenarioLabels] = {
    # Registered and paid (insurance, and fund if any) by one unit, or several certificates at
    # it, or an old cancelled registration elsewhere: nothing.
    CONSISTENT: _NONE,
    "paid_by_other_enterprise": _SI_FUND_MISMATCH,
    # A 机关/事业单位 payer (in the unit feed or not) that is not the registered unit is also a mismatch.
    "paid_by_public_body": ScenarioLabels(_open("SI_UNIT_MISMATCH", "PUBLIC_SECTOR_SI"), _open("FUND_UNIT_MISMATCH")),
    # An HR agency that pays for someone registered elsewhere is also a mismatch; it pays no fund.
    "paid_by_hr_agency": ScenarioLabels(_open("SI_UNIT_MISMATCH", "HR_AGENCY_SI")),
    # The registered unit pays every month; the second payer is insurance only, latest month only.
    "two_payers_latest_month": ScenarioLabels(_open("SI_MULTIPLE_UNITS")),
    "no_insurance": ScenarioLabels(_open("SI_NONE")),
    # Registered in the review month: one month remains after skipping, whoever paid it.
    "recently_moved": _NONE,
    "multi_registration": ScenarioLabels(_open("MULTI_REGISTRATION")),
    # Including some whose 65th birthday is the last day before the review month.
    "over_age": ScenarioLabels(_open("AGE_OVER_LIMIT")),
    # Retired before the window, no payments in it, not past the age limit.
    "retired": ScenarioLabels(_exempted("RETIRED", "SI_NONE")),
    # No insurance; a fund, if any, paid by the registered unit.
    "bought_out": ScenarioLabels(_exempted("SI_BOUGHT_OUT", "SI_NONE")),
    # Registered at a branch and paid by its head office (insurance and fund), or the reverse.
    "branch_office": ScenarioLabels(
        _exempted("BRANCH_OFFICE", "SI_UNIT_MISMATCH"), _exempted("BRANCH_OFFICE", "FUND_UNIT_MISMATCH")
    ),
    # Registered under a former name, without USCC: resolves to the paying unit.
    "former_name": _NONE,
    # Registered under the name with half-width brackets or a stray (full-width) space.
    "name_variant": _NONE,
    # Registered (name only) at one of …建设有限公司 / …建筑有限公司, paid by the other.
    "lookalike_unit": _SI_FUND_MISMATCH,
    # Only an expired or cancelled registration: not evaluated.
    "inactive_registration": _NONE,
    # The registered unit pays the fund every month, another unit too in the latest month.
    "two_fund_payers_latest_month": ScenarioLabels(with_fund=_open("FUND_MULTIPLE_UNITS")),
    # AGE_OVER_LIMIT is not one of the rules RETIRED exempts.
    "retired_over_age": ScenarioLabels(_open("AGE_OVER_LIMIT") | _exempted("RETIRED", "SI_NONE")),
    # RETIRED exempts every SI_* and FUND_* rule.
    "retired_paid_by_two_others": ScenarioLabels(
        _exempted("RETIRED", "SI_UNIT_MISMATCH", "SI_MULTIPLE_UNITS"),
        _exempted("RETIRED", "FUND_UNIT_MISMATCH", "FUND_MULTIPLE_UNITS"),
    ),
    # SI_BOUGHT_OUT exempts SI_NONE only.
    "bought_out_fund_elsewhere": ScenarioLabels(_exempted("SI_BOUGHT_OUT", "SI_NONE"), _open("FUND_UNIT_MISMATCH")),
    # Registered in the month before M: that month is not skipped, so two mismatched months remain.
    "moved_last_month": _SI_FUND_MISMATCH,
    # Only the latest of the last two months is mismatched.
    "switched_payer_last_month": _NONE,
    # The last two months *with data* are mismatched, though neither is M nor are they adjacent.
    "paid_elsewhere_with_gaps": _SI_FUND_MISMATCH,
    # A 事业单位 payer that is the registered unit.
    "employed_by_public_body": _NONE,
    # HR_AGENCY_SI has no "not a registered unit" clause.
    "registered_at_hr_agency": ScenarioLabels(_open("HR_AGENCY_SI")),
    # A cancelled registration's unit is not a registered unit.
    "paid_by_former_registered_unit": _SI_FUND_MISMATCH,
    # Two spellings of one unit are one unit: no MULTI_REGISTRATION.
    "certificates_spelled_differently": _NONE,
    # 65th birthday on or after the first day of M is not before it.
    "turns_65_in_review_month": _NONE,
}


class LabelPolicy(Protocol):
    """The fields of ``matcher_svc.domain.Policy`` the labels depend on (read-only: a Policy is frozen)."""

    @property
    def review_month(self) -> str: ...

    @property
    def window_months(self) -> int: ...

    @property
    def mismatch_months(self) -> int: ...

    @property
    def age_limit_years(self) -> int: ...


def expected_findings(province: SyntheticProvince, policy: LabelPolicy) -> dict[str, frozenset[Label]]:
    """Per id_number, the findings DOMAIN §6 gives the person: a set of (rule, status, exemption).

    The labels come from how each person was generated (their scenario, and whether the
    generator wrote housing-fund deposits for them), never from the matcher, so they are an
    independent oracle. They hold for the policy the province was generated for: review month
    the generator's, a window as long as its months (at least 5), 2 mismatch months, age limit 65.

    Readings of §6 the labels rest on (the scenarios are built so that none of the points §6
    leaves open decides a label):

    * Only ``active`` registrations count: their units are the registered units; a person with
      none gets no finding at all; a cancelled registration's unit is a unit like any other
      (paid_by_former_registered_unit); MULTI_REGISTRATION and AGE_OVER_LIMIT look at active
      registrations only. Several active certificates at one unit, however its name is
      spelled, are one unit (certificates_spelled_differently).
    * "Months that have data" are months in which the person has at least one contribution
      (deposit): a gap is not a mismatched month, and a person without insurance in the window
      gets SI_NONE, not SI_UNIT_MISMATCH (no fund at all gets nothing). Paid in two months
      that are neither adjacent nor the latest, by another unit, is a mismatch
      (paid_elsewhere_with_gaps).
    * "Months before the latest registered_on month are skipped": the registered_on month
      itself is kept. Registered in M leaves one month: no SI/FUND_UNIT_MISMATCH whoever paid
      (recently_moved); registered in M-1 leaves two, both mismatched when the old unit still
      pays (moved_last_month). Planted people who pay in the latest month with two payers all
      registered before the window, so whether the skip also applies to *_MULTIPLE_UNITS is
      not tested.
    * Only the last two months with data decide: a mismatch in M alone is not enough
      (switched_payer_last_month).
    * SI_MULTIPLE_UNITS / FUND_MULTIPLE_UNITS: two unrelated units (by USCC) pay in the latest
      month with data; the registered unit may be one of them. Never planted with a head
      office and its branch paying together.
    * PUBLIC_SECTOR_SI: a payer in the latest month whose USCC starts 11/12 (universities too),
      whether or not it is in the unit feed, unless it is a registered unit
      (employed_by_public_body). Such a payer is also SI_UNIT_MISMATCH (and FUND_UNIT_MISMATCH
      if it pays the fund).
    * HR_AGENCY_SI: a payer in the latest month of kind hr_agency, even when the agency is the
      registered unit (§6 gives it no "not a registered unit" clause, unlike PUBLIC_SECTOR_SI:
      registered_at_hr_agency). Paying for someone registered elsewhere, it is also
      SI_UNIT_MISMATCH.
    * AGE_OVER_LIMIT: the 65th birthday is the same day and month 65 years on, and must be
      strictly before the first day of M: born exactly 65 years before the first day of M is
      not flagged (turns_65_in_review_month), born a day earlier is (over_age). Nobody is
      planted on a 29 February next to this boundary.
    * RETIRED (status retired / early_retired) exempts exactly the rules whose codes start
      with SI_ or FUND_ — SI_UNIT_MISMATCH, SI_MULTIPLE_UNITS, SI_NONE, FUND_UNIT_MISMATCH,
      FUND_MULTIPLE_UNITS — and not AGE_OVER_LIMIT (retired_over_age). Retired people are
      never planted with a public-body or HR-agency payer or two registrations, where §6 does
      not say whether RETIRED reaches PUBLIC_SECTOR_SI, HR_AGENCY_SI or MULTI_REGISTRATION.
    * SI_BOUGHT_OUT exempts SI_NONE only: a bought-out person's fund paid by another unit is
      an open FUND_UNIT_MISMATCH (bought_out_fund_elsewhere).
    * BRANCH_OFFICE exempts the unit-mismatch rules of both feeds (FUND_UNIT_MISMATCH is "as
      SI_UNIT_MISMATCH", and the head-office relation is unit data, not feed data) when the
      only payer is the registered unit's head office or branch (branch_office). Not planted
      with siblings (two branches of one head office) or a mix of related and unrelated payers.
    * Every planted status starts before the window, so whether a status that starts later
      still exempts is not tested. An exempted finding is the same one finding per rule, with
      status "exempted" and its exemption code.
    """
    if not province.with_payments:
        raise ValueError("the labels need the province's payments; generate it with with_payments=True")
    expected_policy = (province.review_month, province.months, 2, AGE_LIMIT_YEARS)
    actual_policy = (policy.review_month, policy.window_months, policy.mismatch_months, policy.age_limit_years)
    if actual_policy != expected_policy or province.months < 5:
        raise ValueError(
            "the labels hold for (review_month, window_months, mismatch_months, age_limit_years) = "
            f"{expected_policy} with a window of at least 5 months, not {actual_policy}"
        )
    with_fund = {row["id_number"] for row in province.deposits}
    labels: dict[str, frozenset[Label]] = {}
    for id_number, scenario in province.scenarios.items():
        scenario_labels = SCENARIO_LABELS[scenario]
        found = scenario_labels.always
        if id_number in with_fund:
            found = found | scenario_labels.with_fund
        labels[id_number] = found
    return labels
