"""The rule catalog's codes (DOMAIN §6), the exemptions and a finding's statuses, with their labels: the one
place for each. matcher-svc evaluates the rules, case-svc's reports and documents name them, the gateway's
labels endpoint (`GET /api/v1/labels`) hands them to dashboards."""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    """The rule catalog (DOMAIN §6). Codes are contract."""

    SI_UNIT_MISMATCH = "SI_UNIT_MISMATCH"
    SI_MULTIPLE_UNITS = "SI_MULTIPLE_UNITS"
    SI_NONE = "SI_NONE"
    FUND_UNIT_MISMATCH = "FUND_UNIT_MISMATCH"
    FUND_MULTIPLE_UNITS = "FUND_MULTIPLE_UNITS"
    MULTI_REGISTRATION = "MULTI_REGISTRATION"
    PUBLIC_SECTOR_SI = "PUBLIC_SECTOR_SI"
    HR_AGENCY_SI = "HR_AGENCY_SI"
    AGE_OVER_LIMIT = "AGE_OVER_LIMIT"


# The 问题类型 of each rule, as the summary table and the documents show it.
RULE_LABELS: dict[Rule, str] = {
    Rule.SI_UNIT_MISMATCH: "社保单位与注册单位不一致",
    Rule.SI_MULTIPLE_UNITS: "多家社保",
    Rule.SI_NONE: "无社保",
    Rule.FUND_UNIT_MISMATCH: "公积金单位与注册单位不一致",
    Rule.FUND_MULTIPLE_UNITS: "多家公积金",
    Rule.MULTI_REGISTRATION: "多单位注册",
    Rule.PUBLIC_SECTOR_SI: "机关事业单位人员在企业注册",
    Rule.HR_AGENCY_SI: "人力资源服务机构代缴社保",
    Rule.AGE_OVER_LIMIT: "超龄注册",
}

RULE_LABELS_EN: dict[Rule, str] = {
    Rule.SI_UNIT_MISMATCH: "Social insurance paid by another unit than the registered one",
    Rule.SI_MULTIPLE_UNITS: "Social insurance paid by several units",
    Rule.SI_NONE: "No social insurance",
    Rule.FUND_UNIT_MISMATCH: "Housing fund paid by another unit than the registered one",
    Rule.FUND_MULTIPLE_UNITS: "Housing fund paid by several units",
    Rule.MULTI_REGISTRATION: "Registered at several units",
    Rule.PUBLIC_SECTOR_SI: "Public-sector staff registered at an enterprise",
    Rule.HR_AGENCY_SI: "Social insurance paid through an HR agency",
    Rule.AGE_OVER_LIMIT: "Registered beyond the age limit",
}


class Exemption(StrEnum):
    """Situations that are not 挂证 (建办市函〔2019〕92号, plus head office/branch). Codes are contract."""

    RETIRED = "RETIRED"
    SI_BOUGHT_OUT = "SI_BOUGHT_OUT"
    BRANCH_OFFICE = "BRANCH_OFFICE"
    INSTITUTION_REFORM = "INSTITUTION_REFORM"
    UNIVERSITY_STAFF = "UNIVERSITY_STAFF"
    MILITARY_SELF_EMPLOYED = "MILITARY_SELF_EMPLOYED"
    OTHER_LEGAL_BASIS = "OTHER_LEGAL_BASIS"


EXEMPTION_LABELS: dict[Exemption, str] = {
    Exemption.RETIRED: "退休（含依法提前退休）",
    Exemption.SI_BOUGHT_OUT: "买断社会保险",
    Exemption.BRANCH_OFFICE: "注册单位与缴费单位为总分公司",
    Exemption.INSTITUTION_REFORM: "事业单位改制保留身份",
    Exemption.UNIVERSITY_STAFF: "院校所属单位聘请本校教师或科研人员",
    Exemption.MILITARY_SELF_EMPLOYED: "军队自主择业人员",
    Exemption.OTHER_LEGAL_BASIS: "其他有法律法规、国家政策依据的情形",
}

EXEMPTION_LABELS_EN: dict[Exemption, str] = {
    Exemption.RETIRED: "Retired (or lawfully retired early)",
    Exemption.SI_BOUGHT_OUT: "Social insurance bought out",
    Exemption.BRANCH_OFFICE: "Registered unit and payer are head office and branch",
    Exemption.INSTITUTION_REFORM: "Public institution reform, status kept",
    Exemption.UNIVERSITY_STAFF: "University teacher or researcher at the university's own firm",
    Exemption.MILITARY_SELF_EMPLOYED: "Self-employed military retiree",
    Exemption.OTHER_LEGAL_BASIS: "Other situation with a legal or policy basis",
}


class FindingStatus(StrEnum):
    open = "open"
    exempted = "exempted"  # kept with the exemption that applies, never dropped
    cleared = "cleared"  # the rule no longer fires


FINDING_STATUS_LABELS: dict[FindingStatus, str] = {
    FindingStatus.open: "待核查",
    FindingStatus.exempted: "已豁免",
    FindingStatus.cleared: "已消除",
}

FINDING_STATUS_LABELS_EN: dict[FindingStatus, str] = {
    FindingStatus.open: "Open",
    FindingStatus.exempted: "Exempted",
    FindingStatus.cleared: "Cleared",
}
