"""Header spellings: how the bureaus' systems name each field's column, and how a header is compared.

Besides the field's own name and its Chinese header (domain.records.ZH_HEADERS), a column is found under
the spellings the bureaus' systems really export, one table per feed:

- 金保/社保 platforms: Chinese labels and the data-element codes of the social-insurance indicator system
  (AAC002 公民身份号码, AAC003 姓名, AAB004 单位名称, AAB998 统一社会信用代码, AAE140 险种类型,
  AAE003 对应费款所属期 / AAE002 费款所属期, AAB301 行政区划代码);
- 公积金 centres: Chinese labels and the pinyin abbreviations of their data standard (ZJHM 证件号码, XINGMING
  or XM 姓名, DWMC 单位名称, TYSHXYDM 统一社会信用代码, HJNY 汇缴年月, JZNY 缴至年月);
- the construction-market platform (四库一平台): 人员姓名, 证件号码, 注册类别, 注册专业, 注册证书编号, 企业名称,
  统一社会信用代码, 注册有效期, 发证日期 ...

Codes that look alike but mean something else are deliberately absent: AAB001 单位编号 and DWZH 单位账号
are the centre's own account numbers, AAC001 个人编号 is not the ID number, AAB003/ZZJGDM is the
9-character organisation code; such columns are reported as ignored. A file whose period comes as a range
(AAE041/AAE042 开始/终止年月) is not expanded into months: send one row per month.

When one file holds two columns for the same field, the spelling listed first wins (对应费款所属期 over
费款所属期: a back payment made in October for January is January's); the other column is reported as
ignored. A feed client's profile (ingest.profiles) names the columns of one bureau's own files and wins
over all of these.
"""

from __future__ import annotations

import re

from domain.identifiers import fold_key
from domain.records import RecordKind

# A trailing note such as (必填), （选填）, (YYYY-MM) and the * that marks required columns in templates.
_NOTE = re.compile(r"\([^()]*\)$")
_MARKS = "*"


def header_key(header: object) -> str:
    """How a header is compared: as any spelling (domain.identifiers.fold_key: width, spaces anywhere, an
    ideographic one too as in 姓　名, and case do not count), and without the BOM."""
    return fold_key(str(header).replace("\ufeff", ""))


def header_keys(header: object) -> tuple[str, ...]:
    """The keys a header may match, most exact first: as written, then without a trailing note or
    required mark (`身份证号(必填)`, `*姓名`)."""
    key = header_key(header)
    bare = _NOTE.sub("", key).strip(_MARKS)
    return (key,) if bare in {key, ""} else (key, bare)


_ID_NUMBER = (
    "身份证号码",
    "公民身份号码",
    "身份证件号码",
    "居民身份证号码",
    "证件号码",
    "证件号",
    "身份证",
    "社会保障号码",  # the social-security number is the citizen ID number (社会保险法 §58)
    "AAC002",
    "ZJHM",
    "SFZH",
    "SFZHM",
)
_PERSON_NAME = ("人员姓名", "职工姓名", "个人姓名", "参保人姓名", "缴存人姓名", "AAC003", "XINGMING", "XM")
_REGION = ("行政区划代码", "行政区划", "地区代码", "区划代码", "所属行政区划代码", "AAB301", "XZQHDM", "XZQH")
_USCC = ("统一社会信用代码", "单位统一社会信用代码", "社会信用代码", "信用代码", "单位信用代码", "AAB998", "TYSHXYDM")

# Per feed, per field: the accepted spellings beyond the field's name and its ZH_HEADERS label, the
# preferred first. The only list of them: the feed's header map and its template's field guide read it.
HEADER_SPELLINGS: dict[RecordKind, dict[str, tuple[str, ...]]] = {
    RecordKind.units: {
        "uscc": ("企业统一社会信用代码", *_USCC),
        "name": ("企业名称", "单位全称", "AAB004", "DWMC"),
        "former_names": ("企业曾用名", "曾用名称"),
        "kind": ("企业类型", "单位性质"),
        "head_office_uscc": ("总公司信用代码", "上级单位统一社会信用代码", "总公司社会信用代码"),
        "region_code": ("企业注册属地代码", "注册属地代码", *_REGION),
    },
    RecordKind.registrations: {
        "id_number": _ID_NUMBER,
        "name": _PERSON_NAME,
        "category": ("注册类型", "资格类别", "注册类别名称", "执业资格类别"),
        "specialty": ("专业", "注册专业名称", "执业专业"),
        "certificate_no": ("证书编号", "注册编号", "注册证书号", "注册证号", "执业证书编号"),
        "seal_no": ("印章号", "执业印章编号", "印章编号"),
        "unit_name": ("注册单位名称", "注册企业名称", "聘用单位", "企业名称", "单位名称", "AAB004", "DWMC"),
        "unit_uscc": (
            "注册单位统一社会信用代码",
            "注册企业统一社会信用代码",
            "企业统一社会信用代码",
            "单位统一社会信用代码",
            "统一社会信用代码",
            "社会信用代码",
            "信用代码",
            "AAB998",
            "TYSHXYDM",
        ),
        "region_code": _REGION,
        "registered_on": ("注册时间", "初始注册日期", "注册批准日期", "发证日期"),
        "valid_until": ("有效期", "有效期至日期", "注册有效期", "注册有效期至", "证书有效期", "有效日期"),
        "status": ("注册状态", "证书状态", "执业状态"),
    },
    RecordKind.contributions: {
        "id_number": _ID_NUMBER,
        "name": _PERSON_NAME,
        "unit_uscc": ("参保单位统一社会信用代码", *_USCC),
        "unit_name": ("参保单位名称", "单位名称", "AAB004", "DWMC"),
        "period": (
            "对应费款所属期",
            "AAE003",
            "费款所属期",
            "AAE002",
            "缴费年月",
            "缴费所属期",
            "所属期",
            "缴费期",
            "所属年月",
            "月份",
            "缴存年月",
        ),
        "insurance_type": ("险种类型", "险种代码", "险种名称", "AAE140"),
        "region_code": ("参保地行政区划代码", "参保地行政区划", "参保地区划代码", *_REGION),
    },
    RecordKind.person_statuses: {
        "id_number": _ID_NUMBER,
        "name": _PERSON_NAME,
        "status": ("人员状态", "参保状态", "离退休状态"),
        "since": ("退休日期", "离退休日期", "起始时间", "状态起始日期", "退休时间"),
    },
    RecordKind.deposits: {
        "id_number": _ID_NUMBER,
        "name": _PERSON_NAME,
        "unit_uscc": ("缴存单位统一社会信用代码", *_USCC),
        "unit_name": ("缴存单位名称", "单位名称", "DWMC"),
        "period": ("汇缴年月", "HJNY", "缴存年月", "缴至年月", "JZNY", "所属年月", "月份", "缴费年月", "费款所属期"),
        "region_code": _REGION,
    },
}
