"""Outcomes and sanctions (DOMAIN §4, §7 items 3–4): who decides, self-correction, fines, and what a
confirmation sets in motion for the person, the registered unit, the real employer and HR agencies.

Pure domain: facts in, a plan out. The service stores the plan on the case and publishes the
revocations it contains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.categories import MINISTRY_MANAGED, Category

BAR_YEARS = 3  # 自撤销注册之日起3年内不得再次申请注册
FINE_WITHOUT_GAINS_MAX = Decimal(10_000)  # 没有违法所得的，处以1万元以下罚款
FINE_GAINS_MULTIPLE = 3  # 有违法所得的，处以违法所得3倍以下且不超过3万元的罚款
FINE_WITH_GAINS_CAP = Decimal(30_000)

# USCC prefixes of payers that make the person a public servant or 事业单位 staff (DOMAIN §3).
PUBLIC_SECTOR_USCC_PREFIXES = ("11", "12")
PUBLIC_SECTOR_KINDS = frozenset({"government", "public_institution", "university"})


class NotGuazhengReason(StrEnum):
    exemption = "exemption"
    data_error = "data_error"
    already_consistent = "already_consistent"


class Authority(StrEnum):
    province = "province"  # revoked by the province (省住建厅 / 省注册建筑师管理委员会)
    ministry = "ministry"  # 住建部-managed: reported up (上报住房城乡建设部处理), not revoked here


class SanctionError(ValueError):
    """A decision whose content breaks a rule (a fine above the limit, a self-correction out of dates)."""


def authority_for(category: str) -> Authority:
    try:
        return Authority.ministry if Category(category) in MINISTRY_MANAGED else Authority.province
    except ValueError:
        raise SanctionError(f"unknown registration category {category!r}") from None


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def barred_until(revoked_on: date) -> date:
    """The last day of the bar: no new application for 3 years from the revocation date."""
    return add_years(revoked_on, BAR_YEARS)


def validate_fine(amount: Decimal, illegal_gains: Decimal | None) -> None:
    """Up to ¥10,000 without illegal gains; with gains, up to 3× the gains and never above ¥30,000."""
    if amount < 0:
        raise SanctionError("a fine cannot be negative")
    if not illegal_gains:
        if amount > FINE_WITHOUT_GAINS_MAX:
            raise SanctionError(f"without illegal gains the fine is at most ¥{FINE_WITHOUT_GAINS_MAX:,}")
        return
    if illegal_gains < 0:
        raise SanctionError("illegal gains cannot be negative")
    limit = min(illegal_gains * FINE_GAINS_MULTIPLE, FINE_WITH_GAINS_CAP)
    if amount > limit:
        raise SanctionError(
            f"with illegal gains of ¥{illegal_gains:,} the fine is at most ¥{limit:,} "
            f"({FINE_GAINS_MULTIPLE}× the gains, never above ¥{FINE_WITH_GAINS_CAP:,})"
        )


@dataclass(frozen=True)
class RegisteredCertificate:
    category: str
    certificate_no: str
    unit_name: str
    unit_uscc: str | None


@dataclass(frozen=True)
class Payer:
    uscc: str
    name: str
    kind: str | None


@dataclass(frozen=True)
class CaseFacts:
    """What the findings say about the person, gathered from their evidence."""

    rules: frozenset[str]
    certificates: tuple[RegisteredCertificate, ...]
    payers: tuple[Payer, ...]  # who paid social insurance in the latest months with data


@dataclass
class SanctionPlan:
    """What a confirmation sets in motion. `revocations` become RegistrationRevokedV1 events."""

    revocations: list[dict[str, Any]] = field(default_factory=list)
    ministry_reports: list[dict[str, Any]] = field(default_factory=list)
    person: dict[str, Any] = field(default_factory=dict)
    units: list[dict[str, Any]] = field(default_factory=list)
    employer_notices: list[dict[str, Any]] = field(default_factory=list)
    hr_agency_referrals: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "revocations": self.revocations,
            "ministry_reports": self.ministry_reports,
            "person": self.person,
            "units": self.units,
            "employer_notices": self.employer_notices,
            "hr_agency_referrals": self.hr_agency_referrals,
        }


def is_public_sector(payer: Payer) -> bool:
    return payer.uscc.startswith(PUBLIC_SECTOR_USCC_PREFIXES) or (payer.kind or "") in PUBLIC_SECTOR_KINDS


def plan_confirmation(
    facts: CaseFacts,
    *,
    decided_on: date,
    blacklist: bool,
    public_notice: bool,
    fine: Decimal | None,
    illegal_gains: Decimal | None,
    province_authority: str,
) -> SanctionPlan:
    """The sanctions of a confirmed 挂证 (建办市〔2018〕57号; the seeds' 严肃处理)."""
    if fine is not None:
        validate_fine(fine, illegal_gains)
    plan = SanctionPlan()
    for cert in facts.certificates:
        entry = {"category": cert.category, "certificate_no": cert.certificate_no}
        if authority_for(cert.category) is Authority.province:
            plan.revocations.append(
                entry
                | {
                    "revoked_on": decided_on.isoformat(),
                    "barred_until": barred_until(decided_on).isoformat(),
                    "authority": province_authority,
                }
            )
        else:
            plan.ministry_reports.append(entry | {"reported_on": decided_on.isoformat(), "to": "住房和城乡建设部"})
    plan.person = {
        "bad_behaviour_record": True,  # 记入不良行为记录
        "blacklist": blacklist,  # 列入建筑市场主体"黑名单"
        "public_notice": public_notice,  # 向社会公布
        "fine": None if fine is None else {"amount": str(fine), "illegal_gains": str(illegal_gains or 0)},
    }
    seen_units: set[str] = set()
    for cert in facts.certificates:
        key = cert.unit_uscc or cert.unit_name
        if key in seen_units:
            continue
        seen_units.add(key)
        plan.units.append(
            {
                "unit_name": cert.unit_name,
                "unit_uscc": cert.unit_uscc,
                "notice": True,  # 通报
                "bad_behaviour_record": True,
                "publication": True,  # 在省级平台公开
                "dynamic_qualification_check": True,  # 纳入资质动态核查
            }
        )
    public_payers = [p for p in facts.payers if is_public_sector(p)]
    if "PUBLIC_SECTOR_SI" in facts.rules or public_payers:
        for payer in public_payers or [Payer(uscc="", name="", kind=None)]:
            plan.employer_notices.append(
                {
                    "employer_uscc": payer.uscc or None,
                    "employer_name": payer.name or None,
                    "notify": ["实际工作单位", "纪检监察机关"],  # the real employer, and its discipline body
                }
            )
    if "HR_AGENCY_SI" in facts.rules:
        for payer in facts.payers:
            if payer.kind == "hr_agency":
                plan.hr_agency_referrals.append(
                    {"agency_uscc": payer.uscc, "agency_name": payer.name, "referred_to": "人力资源社会保障部门"}
                )
        if not plan.hr_agency_referrals:
            plan.hr_agency_referrals.append(
                {"agency_uscc": None, "agency_name": None, "referred_to": "人力资源社会保障部门"}
            )
    return plan


def facts_from_evidence(findings: list[dict[str, Any]]) -> CaseFacts:
    """The rules, registered certificates and latest payers named by a case's findings' evidence."""
    rules: set[str] = set()
    certificates: dict[tuple[str, str], RegisteredCertificate] = {}
    payers: dict[str, Payer] = {}
    for finding in findings:
        if finding["status"] == "cleared":
            continue
        rules.add(finding["rule"])
        evidence = finding.get("evidence") or {}
        for reg in evidence.get("registered", []):
            if reg.get("category") and reg.get("certificate_no"):
                certificates[(reg["category"], reg["certificate_no"])] = RegisteredCertificate(
                    category=reg["category"],
                    certificate_no=reg["certificate_no"],
                    unit_name=reg.get("name") or "",
                    unit_uscc=reg.get("uscc") or reg.get("resolved_uscc"),
                )
        paid = evidence.get("paid") or {}
        if paid and evidence.get("source", "insurance") == "insurance":
            latest = paid[max(paid)]
            for entry in latest:
                if entry.get("uscc") and not entry.get("same"):
                    payers[entry["uscc"]] = Payer(
                        uscc=entry["uscc"], name=entry.get("name") or "", kind=entry.get("kind")
                    )
    return CaseFacts(
        rules=frozenset(rules),
        certificates=tuple(certificates[k] for k in sorted(certificates)),
        payers=tuple(payers[k] for k in sorted(payers)),
    )


def case_authority(certificates: tuple[RegisteredCertificate, ...]) -> str | None:
    """province, ministry, or mixed (a person holding both kinds); None when no certificate is known."""
    kinds = {authority_for(c.category) for c in certificates}
    if not kinds:
        return None
    return kinds.pop().value if len(kinds) == 1 else "mixed"
