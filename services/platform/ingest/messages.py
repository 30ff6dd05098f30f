"""What a receipt and its error download say, in Chinese (the default) or English (`Accept-Language: en`).

A row error is stored as its code and parameters (a range, a length: never the value) with the parser's
English text as a fallback; the message is rendered from this catalog when it is read, so one stored
receipt reads in either language. A code the catalog lacks shows the stored text.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Language(StrEnum):
    zh = "zh"
    en = "en"


def language(accept_language: str | None) -> Language:
    """The language a request prefers among Chinese and English (RFC 9110 weights); Chinese unless it
    prefers English."""
    best, best_weight = Language.zh, 0.0
    for item in (accept_language or "").split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in Language.__members__:
            continue
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
        if weight > best_weight:
            best, best_weight = Language(primary), weight
    return best


# code → (Chinese, English). `{name}` is a parameter stored with the error; a code whose text needs a
# parameter the error lacks (receipts stored before parameters were) falls back to the plain entry below.
CATALOG: dict[str, tuple[str, str]] = {
    # the row's values
    "missing": ("必填项为空", "required"),
    "invalid_text": ("含有空字符（NUL）", "contains a NUL character"),
    "too_long": ("超过 {max_length} 个字符", "longer than {max_length} characters"),
    "invalid_choice": (
        "不是可接受的取值（可接受的取值见模板的填写说明）",
        "not one of the accepted values (see the template's field guide)",
    ),
    "invalid_date": (
        "不是有效的日期（应如 2024-06-02、2024/6/2、20240602、2024年6月2日）",
        "expected a date such as YYYY-MM-DD, YYYY/M/D, YYYYMMDD or YYYY年M月D日",
    ),
    "invalid_month": (
        "不是有效的月份（应如 2024-06、202406、2024/6、2024年6月）",
        "expected a month such as YYYY-MM, YYYYMM, YYYY/M or YYYY年M月",
    ),
    "implausible_month": ("月份应在 {since} 至 {until} 之间", "expected a month from {since} to {until}"),
    "implausible_date": ("日期应在 {since} 至 {until} 之间", "expected a date from {since} to {until}"),
    "invalid_region": ("应为 6 位行政区划代码", "expected a 6-digit administrative division code"),
    "id_number.format": (
        "身份证号码格式不正确：应为 18 位（17 位数字加一位数字或 X），或 15 位数字的一代号码",
        "an ID number must be 17 digits followed by a digit or X, or a first-generation one of 15 digits",
    ),
    "id_number.checksum": ("身份证号码校验位不符", "the ID number's check character does not match"),
    "id_number.birth_date": ("身份证号码中的出生日期无效", "the ID number's birth date is not valid"),
    "uscc.format": (
        "统一社会信用代码格式不正确：应为 18 位，由数字和大写字母组成（不含 I、O、S、V、Z）",
        "a USCC must be 18 characters from 0-9 and A-Z without I, O, S, V, Z",
    ),
    "uscc.checksum": ("统一社会信用代码校验位不符", "the USCC's check character does not match"),
    "id_as_number": (
        "该单元格是数字格式，末尾数位已丢失：请将该列设置为文本格式后重新导出",
        "a number cell, whose last digits are lost: format the column as text and export again",
    ),
    "format": ("格式不正确", "not in the expected format"),
    "checksum": ("校验位不符", "the check character does not match"),
    # the row as a whole
    "invalid_record": ("不是一个 JSON 对象", "not a JSON object"),
    "out_of_scope": ("不在本客户端可报送的地区范围内", "outside the regions this client may send"),
    "not_requested": (
        "该人员不在发给本中心、本地区的核查名单中（数据最小化）",
        "the person is on no check request issued to this centre for the row's region (data minimisation)",
    ),
    # accepted with a warning
    "id_number_upgraded": ("15 位身份证号码已转换为 18 位", "a 15-digit ID number: stored in its 18-digit form"),
    "id_checksum_flagged": (
        "身份证号码校验位不符：按本客户端的配置接收，并在线索证据中标注",
        "the ID number's check character does not match: accepted as the client's profile says, and flagged "
        "in the findings' evidence",
    ),
    "uscc_check_character": (
        "统一社会信用代码校验位不符（部分早期代码如此）：已接收",
        "the USCC's check character does not match (as in some early codes): accepted",
    ),
    # the row's values, continued: what could be read two ways is not guessed
    "ambiguous_date": (
        "日期带有非零点的时刻，所属日期取决于时区：请只填写日期",
        "a date with a time of day other than midnight: send the date alone",
    ),
    "ambiguous_month": (
        "“YYYY.M”形式的月份可能是丢失末尾 0 的数字（2024.10 显示为 2024.1）：请写作 YYYY.MM 或 YYYY-MM",
        "YYYY.M may be a number that lost its last zero (2024.10 shows as 2024.1): write YYYY.MM or YYYY-MM",
    ),
    # why a whole upload was refused (Receipt.reason)
    "rejected_over_threshold": (
        "{rows_in_error} 行有错误，占 {rejected_percent}%，超过允许的 {threshold_percent}%：整个文件未入库",
        "{rows_in_error} rows ({rejected_percent}%) have errors, more than the {threshold_percent}% allowed: "
        "nothing was stored",
    ),
    "all_or_nothing": (
        "all_or_nothing 模式下有行被拒绝：整个文件未入库",
        "a row was rejected in all_or_nothing mode: nothing was stored",
    ),
    "no_valid_rows": ("没有一行可以接受：整个文件未入库", "no row could be accepted: nothing was stored"),
}

# Without their parameters (receipts stored before errors carried them).
_PLAIN: dict[str, tuple[str, str]] = {
    "too_long": ("过长", "too long"),
    "implausible_month": ("月份不在合理范围内", "the month is outside the plausible range"),
    "implausible_date": ("日期不在合理范围内", "the date is outside the plausible range"),
}


def _family(field: str | None) -> str | None:
    """Which identifier a field holds: its codes (`format`, `checksum`) read differently for each."""
    if field is None:
        return None
    if field == "id_number":
        return "id_number"
    if field == "uscc" or field.endswith("_uscc"):
        return "uscc"
    return None


def render(
    code: str,
    params: Mapping[str, Any] | None,
    lang: Language,
    *,
    field: str | None = None,
    fallback: str | None = None,
) -> str:
    """The message for `code` in `lang`; `fallback` (the stored English text) for a code the catalog lacks."""
    family = _family(field)
    entry = CATALOG.get(f"{family}.{code}") if family else None
    entry = entry or CATALOG.get(code)
    if entry is None:
        return fallback or code
    text = entry[lang is Language.en]
    try:
        return text.format(**(params or {}))
    except (KeyError, IndexError):
        plain = _PLAIN.get(code)
        if lang is Language.en and fallback:
            return fallback
        return plain[lang is Language.en] if plain else text


# The error download's columns: key → (Chinese, English) header.
ERROR_COLUMNS: dict[str, tuple[str, str]] = {
    "row": ("记录序号", "record"),
    "line": ("文件中的行", "line"),
    "cell": ("列", "column"),
    "column": ("列名（文件中的写法）", "header as written"),
    "field": ("字段", "field"),
    "code": ("错误代码", "code"),
    "message": ("说明", "message"),
}


def header(key: str, lang: Language, table: Mapping[str, tuple[str, str]] = ERROR_COLUMNS) -> str:
    return table[key][lang is Language.en]
