"""What each printable document of a case says: 核查通知 (notice), 行政处理事先告知书 (notice of the intended
decision), 处理决定书 (decision) and 送达回证 (proof of service), from the case, its findings' facts, its
campaign and the document's number.

The person is named with the masked ID number only (DOMAIN §8); the decision names the person and the
registered unit(s), as the campaigns' decisions do. Pure: the case's data in, the document's parts out
(render.py lays them out as PDF).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from case_svc.campaigns.schemas import Campaign
from case_svc.cases import sanctions
from case_svc.cases.record import Case
from case_svc.documents.stages import TITLES, Kind
from case_svc.reports.service import RULE_LABELS
from domain.categories import CATEGORY_LABELS, Category
from kernel.regions import region_name

# The registration rules each category's registration (and its revocation) rests on.
REGULATIONS: dict[str, str] = {
    "constructor": "《注册建造师管理规定》",
    "architect": "《中华人民共和国注册建筑师条例》",
    "structural": "《勘察设计注册工程师管理规定》",
    "survey": "《勘察设计注册工程师管理规定》",
    "supervision": "《注册监理工程师管理规定》",
    "cost": "《注册造价工程师管理办法》",
}
OUTCOME_TEXT = {
    "not_guazheng": "不认定为“挂证”",
    "self_corrected": "自查自纠期间已主动整改，依规免予追究责任",
    "confirmed": "认定存在“挂证”违法违规行为",
}
NOT_GUAZHENG_TEXT = {
    "exemption": "属于不认定为“挂证”的情形",
    "data_error": "系数据差错",
    "already_consistent": "社会保险缴纳单位与注册单位已一致",
}
STATEMENT_WORKING_DAYS = 5  # 陈述、申辩: a policy choice, in working days


@dataclass
class Document:
    """A document's parts, in reading order."""

    authority: str  # who issues it (the heading and the seal line)
    title: str
    number: str
    addressee: str | None
    paragraphs: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)  # a form's (label, value) rows
    dated: date = date.min


def category_label(category: str) -> str:
    try:
        return CATEGORY_LABELS[Category(category)]
    except ValueError:
        return category


def regulation(category: str) -> str:
    return next((text for prefix, text in REGULATIONS.items() if category.startswith(prefix)), "有关注册管理规定")


def person(case: Case) -> str:
    return f"{case.name or '（姓名不详）'}（身份证号码：{case.masked_id or '不详'}）"


def bureau_name(region_code: str) -> str:
    """A city's or county's housing bureau: 呼和浩特市新城区住房和城乡建设局."""
    names = [region_name(code) for code in dict.fromkeys([region_code[:4] + "00", region_code])]
    return "".join(n for n in names if n) + "住房和城乡建设局"


def _units(facts: sanctions.CaseFacts) -> str:
    units = dict.fromkeys(
        f"{c.unit_name}（统一社会信用代码：{c.unit_uscc}）" if c.unit_uscc else c.unit_name for c in facts.certificates
    )
    return "、".join(units) or "（不详）"


def _certificates(facts: sanctions.CaseFacts) -> str:
    return (
        "、".join(f"{category_label(c.category)}（证书编号{c.certificate_no}）" for c in facts.certificates)
        or "注册证书"
    )


def fact_paragraphs(findings: list[dict[str, Any]], facts: sanctions.CaseFacts) -> list[str]:
    """What the data show: the registration, and per finding what the months and paying units say."""
    lines = [f"你持有的{_certificates(facts)}注册于{_units(facts)}。"]
    for finding in findings:
        if finding["status"] == "cleared":
            continue
        evidence = finding.get("evidence") or {}
        label = RULE_LABELS.get(finding["rule"], finding["rule"])
        paid = evidence.get("paid") or {}
        source = "住房公积金缴存" if evidence.get("source") == "fund" else "社会保险缴纳"
        months = []
        for month in sorted(paid)[-2:]:
            payers = "、".join(dict.fromkeys(p.get("name") or p.get("uscc") or "" for p in paid[month])) or "无"
            months.append(f"{month}{source}单位为{payers}")
        detail = "；".join(months) if months else f"核查期内无{source}记录" if "NONE" in finding["rule"] else ""
        lines.append(f"{label}：{detail}。" if detail else f"{label}。")
    return lines


def sanction_paragraphs(plan: dict[str, Any]) -> list[str]:
    """The sanctions of a confirmation as the decision states them."""
    lines = []
    for r in plan.get("revocations", []):
        lines.append(
            f"撤销你的{category_label(r['category'])}注册（证书编号{r['certificate_no']}），自{r['revoked_on']}起3年内"
            f"（至{r['barred_until']}）不得再次申请注册；"
        )
    for r in plan.get("ministry_reports", []):
        lines.append(
            f"你的{category_label(r['category'])}（证书编号{r['certificate_no']}）由住房和城乡建设部管理，"
            "依规上报住房和城乡建设部依法处理；"
        )
    person_plan = plan.get("person") or {}
    measures = ["记入不良行为记录"]
    if person_plan.get("blacklist"):
        measures.append("列入建筑市场主体“黑名单”")
    if person_plan.get("public_notice"):
        measures.append("向社会公布")
    lines.append("对你" + "，".join(measures) + "；")
    fine = person_plan.get("fine")
    if fine:
        lines.append(f"处以罚款人民币{fine['amount']}元；")
    for unit in plan.get("units", []):
        uscc = f"（统一社会信用代码：{unit['unit_uscc']}）" if unit.get("unit_uscc") else ""
        lines.append(f"对注册单位{unit['unit_name']}{uscc}予以通报，记入不良行为记录，纳入资质动态核查；")
    if plan.get("employer_notices"):
        lines.append("将你的情况通报你的实际工作单位及纪检监察机关；")
    if plan.get("hr_agency_referrals"):
        lines.append("将代缴社会保险的人力资源服务机构移交人力资源社会保障部门调查处理。")
    return lines


def _basis(campaign: Campaign | None, facts: sanctions.CaseFacts) -> str:
    regulations = "、".join(dict.fromkeys(regulation(c.category) for c in facts.certificates)) or "有关注册管理规定"
    documents = [
        d for d in (campaign.national_basis if campaign else None, campaign.document if campaign else None) if d
    ]
    return "依据《中华人民共和国行政许可法》、" + regulations + ("及" + "、".join(documents) if documents else "")


def notice(
    case: Case, campaign: Campaign | None, findings: list[dict[str, Any]], authority: str, number: str
) -> Document:
    facts = sanctions.facts_from_evidence(findings)
    assert case.notice_date is not None and case.reply_due is not None  # only once the notice went out
    campaign_text = f"按照{campaign.name}（{campaign.document}）的部署，" if campaign and campaign.document else ""
    working_days = ((case.due_basis or {}).get("reply") or {}).get("working_days")
    period = (
        f"{working_days}个工作日内（{case.reply_due.isoformat()}前）"
        if working_days
        else f"{case.reply_due.isoformat()}前"
    )
    return Document(
        authority=authority,
        title=TITLES[Kind.notice],
        number=number,
        addressee=f"{person(case)}：",
        paragraphs=[
            f"{campaign_text}经比对住房和城乡建设、社会保险、住房公积金等部门数据，发现你存在以下情况：",
            *fact_paragraphs(findings, facts),
            f"请你自本通知发出之日起{period}，向我局提交书面说明及劳动合同、社会保险缴费证明等相关材料。"
            "已办理注销注册或已整改的，请一并提供证明材料。逾期未反馈的，我局将依据核查情况依法处理。",
            _basis(campaign, facts) + "。",
        ],
        dated=case.notice_date,
    )


def intended_decision(
    case: Case,
    campaign: Campaign | None,
    findings: list[dict[str, Any]],
    authority: str,
    number: str,
    plan: dict[str, Any],
    dated: date,
) -> Document:
    facts = sanctions.facts_from_evidence(findings)
    return Document(
        authority=authority,
        title=TITLES[Kind.intended_decision],
        number=number,
        addressee=f"{person(case)}：",
        paragraphs=[
            "经核查：",
            *fact_paragraphs(findings, facts),
            "经县级、市级住房和城乡建设主管部门审查、复审，上述情况属实，你的行为属于注册执业人员“挂证”违法违规行为。",
            _basis(campaign, facts) + "，本机关拟对你作出如下处理：",
            *sanction_paragraphs(plan),
            f"根据《中华人民共和国行政处罚法》第四十四条、第四十五条的规定，你有权进行陈述和申辩。请于收到本告知书之日起"
            f"{STATEMENT_WORKING_DAYS}个工作日内向本机关提出；逾期未提出的，视为放弃上述权利。",
        ],
        dated=dated,
    )


def decision(
    case: Case, campaign: Campaign | None, findings: list[dict[str, Any]], authority: str, number: str
) -> Document:
    facts = sanctions.facts_from_evidence(findings)
    made = case.decision or {}
    assert case.outcome is not None and case.decided_on is not None  # only once decided
    outcome = OUTCOME_TEXT.get(case.outcome, case.outcome)
    if case.outcome == "not_guazheng" and case.outcome_reason in NOT_GUAZHENG_TEXT:
        outcome += f"（{NOT_GUAZHENG_TEXT[case.outcome_reason]}）"
    paragraphs = [
        f"当事人：{person(case)}",
        f"注册单位：{_units(facts)}",
        "经核查：",
        *fact_paragraphs(findings, facts),
        f"本机关认为：{made.get('reason') or outcome}。",
        _basis(campaign, facts) + f"，决定如下：{outcome}。",
    ]
    if case.outcome == "confirmed":
        paragraphs += sanction_paragraphs(case.sanctions or {})
    paragraphs.append(
        "如不服本决定，可以自收到本决定书之日起六十日内依法申请行政复议，或者自收到本决定书之日起六个月内依法向人民法院提起行政诉讼。"
    )
    return Document(
        authority=authority, title=TITLES[Kind.decision], number=number, addressee=None, paragraphs=paragraphs,
        dated=case.decided_on,
    )  # fmt: skip


def proof_of_service(
    case: Case, authority: str, number: str, served: Kind, served_number: str, dated: date
) -> Document:
    return Document(
        authority=authority,
        title=TITLES[Kind.proof_of_service],
        number=number,
        addressee=None,
        rows=[
            ("送达文书", f"{TITLES[served]}（{served_number}）"),
            ("受送达人", person(case)),
            ("案件编号", case.case_ref),
            ("送达地点", ""),
            ("送达方式", "□直接送达　□邮寄送达　□留置送达　□委托送达　□公告送达"),
            ("受送达人签名或盖章", "\n\n                                年    月    日"),
            ("代收人及代收理由", ""),
            ("送达人", "\n                                年    月    日"),
            ("备注", ""),
        ],
        dated=dated,
    )
