"""Outcomes and sanctions as pure domain: who decides, the bar date, fines, self-correction by each
preset's dates, and what a confirmation sets in motion for units, employers and HR agencies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from case_svc.campaigns.presets import PRESETS
from case_svc.campaigns.schemas import Campaign, CampaignIn
from case_svc.campaigns.service import in_self_correction
from case_svc.cases.sanctions import (
    Authority,
    CaseFacts,
    Payer,
    RegisteredCertificate,
    SanctionError,
    SanctionPlan,
    authority_for,
    barred_until,
    case_authority,
    facts_from_evidence,
    plan_confirmation,
    validate_fine,
)


def preset(campaign_id: str) -> Campaign:
    now = datetime.now(UTC)
    return Campaign.model_validate(
        {
            **CampaignIn.model_validate(PRESETS[campaign_id]).model_dump(),
            "created_at": now,
            "updated_at": now,
        }
    )


@pytest.mark.parametrize(
    ("category", "authority"),
    [
        ("constructor_1", Authority.ministry),
        ("constructor_2", Authority.province),
        ("architect_1", Authority.ministry),
        ("architect_2", Authority.province),
        ("structural_1", Authority.ministry),
        ("structural_2", Authority.province),
        ("survey_design", Authority.ministry),
        ("supervision", Authority.ministry),
        ("cost_1", Authority.ministry),
        ("cost_2", Authority.province),
    ],
)
def test_who_decides_each_category(category, authority) -> None:
    assert authority_for(category) is authority


def test_the_bar_lasts_three_years_from_the_revocation_date() -> None:
    assert barred_until(date(2025, 1, 10)) == date(2028, 1, 10)
    assert barred_until(date(2024, 2, 29)) == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("fine", "gains", "allowed"),
    [
        ("10000", None, True),
        ("10000.01", None, False),
        ("0", None, True),
        ("15000", "5000", True),
        ("15000.01", "5000", False),  # 3× the gains
        ("30000", "20000", True),
        ("30000.01", "20000", False),  # capped at ¥30,000
    ],
)
def test_fines_stay_within_the_limits(fine, gains, allowed) -> None:
    if allowed:
        validate_fine(Decimal(fine), Decimal(gains) if gains else None)
    else:
        with pytest.raises(SanctionError):
            validate_fine(Decimal(fine), Decimal(gains) if gains else None)


@pytest.mark.parametrize(
    ("campaign_id", "inside", "outside"),
    [
        ("IM-2024", [date(2024, 8, 1), date(2024, 9, 15), date(2024, 10, 31)], [date(2024, 7, 31), date(2024, 11, 1)]),
        ("HLJ-2018", [date(2018, 12, 21), date(2019, 1, 2), date(2019, 1, 31)], [date(2018, 12, 20), date(2019, 2, 1)]),
    ],
)
def test_self_correction_follows_each_presets_dates(campaign_id, inside, outside) -> None:
    campaign = preset(campaign_id)
    assert all(in_self_correction(campaign, day) for day in inside)
    assert not any(in_self_correction(campaign, day) for day in outside)


def test_presets_carry_their_campaigns_shape() -> None:
    im, hlj = preset("IM-2024"), preset("HLJ-2018")
    assert im.monthly_report is None and hlj.monthly_report is not None
    assert hlj.monthly_report.from_month == "2019-03" and hlj.monthly_report.due_day == 2
    assert {"交通运输", "水利"} <= set(hlj.agencies)
    assert [d.due_on for d in im.reporting_deadlines] == [date(2025, 2, 17)]
    assert {p.code for p in hlj.phases} == {"self_correction", "investigation", "supervision"}


def _facts(*certs: tuple[str, str], rules: set[str] | None = None, payers: tuple[Payer, ...] = ()) -> CaseFacts:
    return CaseFacts(
        rules=frozenset(rules or {"SI_UNIT_MISMATCH"}),
        certificates=tuple(RegisteredCertificate(c, n, "某建设有限公司", "91150100MA0000001X") for c, n in certs),
        payers=payers,
    )


def _plan(facts: CaseFacts, *, fine: Decimal | None = None) -> SanctionPlan:
    return plan_confirmation(
        facts,
        decided_on=date(2025, 1, 10),
        blacklist=True,
        public_notice=True,
        fine=fine,
        illegal_gains=None,
        province_authority="内蒙古自治区住房和城乡建设厅",
    )


def test_a_province_registration_is_revoked_and_a_ministry_one_reported() -> None:
    plan = _plan(_facts(("constructor_2", "蒙2150001"), ("constructor_1", "京1110001")))
    assert plan.revocations == [
        {
            "category": "constructor_2",
            "certificate_no": "蒙2150001",
            "revoked_on": "2025-01-10",
            "barred_until": "2028-01-10",
            "authority": "内蒙古自治区住房和城乡建设厅",
        }
    ]
    assert [r["certificate_no"] for r in plan.ministry_reports] == ["京1110001"]
    assert plan.person["bad_behaviour_record"] and plan.person["blacklist"] and plan.person["public_notice"]
    unit = plan.units[0]
    assert (
        unit["notice"] and unit["bad_behaviour_record"] and unit["publication"] and unit["dynamic_qualification_check"]
    )
    assert len(plan.units) == 1  # two certificates at one unit: one unit sanctioned
    assert case_authority(_facts(("constructor_2", "x"), ("constructor_1", "y")).certificates) == "mixed"
    assert case_authority(_facts(("cost_1", "x")).certificates) == "ministry"


def test_a_fine_above_the_limit_refuses_the_confirmation() -> None:
    with pytest.raises(SanctionError, match="10,000"):
        _plan(_facts(("constructor_2", "x")), fine=Decimal("12000"))
    assert _plan(_facts(("constructor_2", "x")), fine=Decimal("9000")).person["fine"]["amount"] == "9000"


def test_public_servants_notify_employer_and_discipline_body_and_hr_agencies_go_to_renshe() -> None:
    public = Payer("11150000MB0000001X", "某局", "government")
    plan = _plan(_facts(("constructor_2", "x"), rules={"PUBLIC_SECTOR_SI"}, payers=(public,)))
    assert plan.employer_notices == [
        {"employer_uscc": public.uscc, "employer_name": "某局", "notify": ["实际工作单位", "纪检监察机关"]}
    ]
    # A 事业单位 payer (USCC 12…) counts even without the rule.
    institution = Payer("12150000MB0000002Y", "某研究院", None)
    assert _plan(_facts(("constructor_2", "x"), payers=(institution,))).employer_notices
    agency = Payer("91150100MA0000009Z", "某人力资源服务有限公司", "hr_agency")
    plan = _plan(_facts(("constructor_2", "x"), rules={"HR_AGENCY_SI"}, payers=(agency,)))
    assert plan.hr_agency_referrals == [
        {"agency_uscc": agency.uscc, "agency_name": agency.name, "referred_to": "人力资源社会保障部门"}
    ]
    assert not _plan(_facts(("constructor_2", "x"))).employer_notices


def test_facts_come_from_the_findings_evidence() -> None:
    evidence = {
        "source": "insurance",
        "registered": [
            {
                "name": "甲公司",
                "uscc": None,
                "resolved_uscc": "91150100MA0000001X",
                "category": "cost_2",
                "certificate_no": "c1",
            }
        ],
        "paid": {
            "2024-09": [{"uscc": "OLD", "name": "旧", "same": False}],
            "2024-10": [
                {"uscc": "12150000MB0000002Y", "name": "某研究院", "kind": "public_institution", "same": False},
                {"uscc": "91150100MA0000001X", "name": "甲公司", "same": True},
            ],
        },
    }
    facts = facts_from_evidence(
        [
            {"rule": "PUBLIC_SECTOR_SI", "status": "open", "evidence": evidence},
            {"rule": "SI_NONE", "status": "cleared", "evidence": {}},
        ]
    )
    assert facts.rules == {"PUBLIC_SECTOR_SI"}
    assert [c.unit_uscc for c in facts.certificates] == ["91150100MA0000001X"]
    assert [p.uscc for p in facts.payers] == ["12150000MB0000002Y"]  # the latest month, not the registered unit
