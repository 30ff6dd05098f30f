"""The records the bureaus push (DOMAIN §5): field names in column order and their Chinese CSV headers, the single source for ingest and export."""

from __future__ import annotations

from enum import StrEnum


class RecordKind(StrEnum):
    units = "units"
    registrations = "registrations"
    contributions = "contributions"
    person_statuses = "person_statuses"
    deposits = "deposits"


class RegistrationStatus(StrEnum):
    active = "active"
    cancelled = "cancelled"  # 注销
    revoked = "revoked"  # 撤销
    expired = "expired"


class PersonStatus(StrEnum):
    retired = "retired"  # 退休
    early_retired = "early_retired"  # 提前退休
    bought_out = "bought_out"  # 买断社保


INSURANCE_TYPE_LABELS: dict[str, str] = {
    "01": "养老",
    "02": "失业",
    "03": "医疗",
    "04": "工伤",
    "05": "生育",
}
INSURANCE_TYPE_LABELS_EN: dict[str, str] = {
    "01": "Pension",
    "02": "Unemployment",
    "03": "Medical",
    "04": "Work injury",
    "05": "Maternity",
}

# Labels of the feeds and of the statuses they carry: what dashboards show (the gateway's
# `GET /api/v1/labels`). The spellings ingest reads are below.
RECORD_KIND_LABELS: dict[RecordKind, str] = {
    RecordKind.units: "单位信息",
    RecordKind.registrations: "注册人员",
    RecordKind.contributions: "社保缴费",
    RecordKind.person_statuses: "人员状态（退休、买断）",
    RecordKind.deposits: "公积金缴存",
}
RECORD_KIND_LABELS_EN: dict[RecordKind, str] = {
    RecordKind.units: "Units",
    RecordKind.registrations: "Registrations",
    RecordKind.contributions: "Social-insurance contributions",
    RecordKind.person_statuses: "Person statuses (retirement, buy-out)",
    RecordKind.deposits: "Housing-fund deposits",
}
REGISTRATION_STATUS_LABELS: dict[RegistrationStatus, str] = {
    RegistrationStatus.active: "有效",
    RegistrationStatus.cancelled: "注销",
    RegistrationStatus.revoked: "撤销",
    RegistrationStatus.expired: "过期",
}
REGISTRATION_STATUS_LABELS_EN: dict[RegistrationStatus, str] = {
    RegistrationStatus.active: "Active",
    RegistrationStatus.cancelled: "Cancelled",
    RegistrationStatus.revoked: "Revoked",
    RegistrationStatus.expired: "Expired",
}
PERSON_STATUS_LABELS: dict[PersonStatus, str] = {
    PersonStatus.retired: "退休",
    PersonStatus.early_retired: "提前退休",
    PersonStatus.bought_out: "买断社保",
}
PERSON_STATUS_LABELS_EN: dict[PersonStatus, str] = {
    PersonStatus.retired: "Retired",
    PersonStatus.early_retired: "Retired early",
    PersonStatus.bought_out: "Social insurance bought out",
}

# A certificate the platform lists once per registered specialty is one registration whose specialties are
# joined by this, in the order the file gives them (RegistrationRecordedV1.specialties has them one by one).
SPECIALTY_SEPARATOR = ";"

# --- values as the bureaus' systems write them (one place per field; ingest matches them ignoring width,
# spaces and case). What could mean two things is left out: it stays a row error. ----------------------

REGISTRATION_STATUS_SPELLINGS: dict[str, RegistrationStatus] = {
    **{status.value: status for status in RegistrationStatus},
    "有效": RegistrationStatus.active,
    "正常": RegistrationStatus.active,
    "注册有效": RegistrationStatus.active,
    "注销": RegistrationStatus.cancelled,
    "已注销": RegistrationStatus.cancelled,
    "注销注册": RegistrationStatus.cancelled,
    "撤销": RegistrationStatus.revoked,
    "已撤销": RegistrationStatus.revoked,
    "撤销注册": RegistrationStatus.revoked,
    "过期": RegistrationStatus.expired,
    "已过期": RegistrationStatus.expired,
    "失效": RegistrationStatus.expired,
    "已失效": RegistrationStatus.expired,
}

PERSON_STATUS_SPELLINGS: dict[str, PersonStatus] = {
    **{status.value: status for status in PersonStatus},
    "退休": PersonStatus.retired,
    "已退休": PersonStatus.retired,
    "正式退休": PersonStatus.retired,
    "正常退休": PersonStatus.retired,
    "离休": PersonStatus.retired,  # 离休 is retirement (of cadres who joined before 1949)
    "提前退休": PersonStatus.early_retired,
    "特殊工种提前退休": PersonStatus.early_retired,
    "因病提前退休": PersonStatus.early_retired,
    "病退": PersonStatus.early_retired,
    "买断": PersonStatus.bought_out,
    "买断社保": PersonStatus.bought_out,
    "买断工龄": PersonStatus.bought_out,
    "一次性买断": PersonStatus.bought_out,
}

# The national insurance-type codes (社会保险险种类型, AAE140) of the employee schemes, and the names
# systems give them. 城乡居民 schemes (170, 390) are paid by no unit: they stay row errors.
INSURANCE_TYPE_SPELLINGS: dict[str, str] = {
    **{code: code for code in INSURANCE_TYPE_LABELS},
    **{code.lstrip("0"): code for code in INSURANCE_TYPE_LABELS},
    **{label: code for code, label in INSURANCE_TYPE_LABELS.items()},
    **{label + "保险": code for code, label in INSURANCE_TYPE_LABELS.items()},
    "110": "01",
    "120": "01",
    "210": "02",
    "310": "03",
    "410": "04",
    "510": "05",
    "基本养老保险": "01",
    "企业职工基本养老保险": "01",
    "企业基本养老保险": "01",
    "城镇企业职工基本养老保险": "01",
    "城镇职工基本养老保险": "01",
    "机关事业单位养老保险": "01",
    "机关事业单位基本养老保险": "01",
    "失业": "02",
    "基本医疗保险": "03",
    "职工基本医疗保险": "03",
    "城镇职工基本医疗保险": "03",
    "工伤": "04",
    "生育": "05",
}

FIELDS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.units: ("uscc", "name", "former_names", "kind", "head_office_uscc", "region_code"),
    RecordKind.registrations: (
        "id_number",
        "name",
        "category",
        "specialty",
        "certificate_no",
        "seal_no",
        "unit_name",
        "unit_uscc",
        "region_code",
        "registered_on",
        "valid_until",
        "status",
    ),
    RecordKind.contributions: (
        "id_number",
        "name",
        "unit_uscc",
        "unit_name",
        "period",
        "insurance_type",
        "region_code",
    ),
    RecordKind.person_statuses: ("id_number", "name", "status", "since"),
    RecordKind.deposits: ("id_number", "name", "unit_uscc", "unit_name", "period", "region_code"),
}

# The same field reads differently per record kind: a registration's unit is 注册单位,
# a contribution's 参保单位, a deposit's 缴存单位.
ZH_HEADERS: dict[RecordKind, dict[str, str]] = {
    RecordKind.units: {
        "uscc": "统一社会信用代码",
        "name": "单位名称",
        "former_names": "曾用名",
        "kind": "单位类型",
        "head_office_uscc": "总公司统一社会信用代码",
        "region_code": "所属地区",
    },
    RecordKind.registrations: {
        "id_number": "身份证号",
        "name": "姓名",
        "category": "注册类别",
        "specialty": "注册专业",
        "certificate_no": "注册证书编号",
        "seal_no": "执业印章号",
        "unit_name": "注册单位",
        "unit_uscc": "统一社会信用代码",
        "region_code": "所属地区",
        "registered_on": "注册日期",
        "valid_until": "有效期至",
        "status": "状态",
    },
    RecordKind.contributions: {
        "id_number": "身份证号",
        "name": "姓名",
        "unit_uscc": "参保单位信用代码",
        "unit_name": "参保单位",
        "period": "缴费月份",
        "insurance_type": "险种",
        "region_code": "参保地",
    },
    RecordKind.person_statuses: {
        "id_number": "身份证号",
        "name": "姓名",
        "status": "状态",
        "since": "起始日期",
    },
    RecordKind.deposits: {
        "id_number": "身份证号",
        "name": "姓名",
        "unit_uscc": "缴存单位信用代码",
        "unit_name": "缴存单位",
        "period": "缴存月份",
        "region_code": "所属地区",
    },
}
