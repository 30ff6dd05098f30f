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
