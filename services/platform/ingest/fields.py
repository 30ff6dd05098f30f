"""Input fields: how one value of an uploaded record is read, validated and normalised (never echoing it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.identifiers import InvalidIdentifier, normalize_id_number, normalize_uscc
from kernel.values import PLAUSIBLE


class FieldError(Exception):
    """A value that cannot be accepted; the message never contains the value itself."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Parser = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Noted:
    """What a parser returns for a value it accepted after a change the receipt must state (a 15-digit ID
    number made 18 digits, a USCC whose check character fails): the value, and a warning without the value."""

    value: Any
    code: str
    message: str


@dataclass(frozen=True)
class Field:
    """One input field: its canonical name, the header spellings accepted for it, and its parser."""

    name: str
    parse: Parser
    required: bool = True
    headers: tuple[str, ...] = ()  # extra accepted headers (Chinese labels, synonyms)
    # Values that recur within an upload (a person's ID on each of their months, a unit's USCC on
    # thousands of rows) are parsed once per upload and then looked up.
    repeats: bool = False


def text_value(max_length: int = 200) -> Parser:
    def parse(value: Any) -> str:
        result = str(value).strip()
        if "\x00" in result:  # PostgreSQL text cannot hold NUL: the whole upload would fail in the store
            raise FieldError("invalid_text", "contains a NUL character")
        if len(result) > max_length:
            raise FieldError("too_long", f"longer than {max_length} characters")
        return result

    return parse


def choice_value(choices: Mapping[str, str]) -> Parser:
    """Maps accepted spellings (codes, Chinese labels) to codes."""
    lookup = {k.strip().lower(): v for k, v in choices.items()}
    allowed = ", ".join(sorted(set(choices.values())))

    def parse(value: Any) -> str:
        try:
            return lookup[str(value).strip().lower()]
        except KeyError:
            raise FieldError("invalid_choice", f"not one of: {allowed}") from None

    return parse


def date_value(value: Any) -> date:
    raw = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(raw[:10] if len(raw) > 10 and raw[10] in " T" else raw)
    except ValueError:
        raise FieldError("invalid_date", "expected a date as YYYY-MM-DD") from None


def month_value(value: Any) -> str:
    """`YYYY-MM` or `YYYYMM` → `YYYY-MM`."""
    raw = str(value).strip().replace("/", "-")
    if len(raw) == 6 and raw.isdigit():
        raw = f"{raw[:4]}-{raw[4:]}"
    if len(raw) != 7 or raw[4] != "-" or not (raw[:4].isdigit() and raw[5:].isdigit()) or not 1 <= int(raw[5:]) <= 12:
        raise FieldError("invalid_month", "expected a month as YYYY-MM or YYYYMM")
    return raw


# What a bureau's record can be about lies in the plausible range (kernel.values): a payment for 9999-12
# or a registration in 1900 is a typing error, not evidence. The error says the range, never the value.


def plausible_month_value(value: Any) -> str:
    """A month (as `month_value`) within the plausible range."""
    try:
        return PLAUSIBLE.check_month(month_value(value))
    except ValueError as exc:
        raise FieldError("implausible_month", str(exc)) from None


def plausible_date_value(value: Any) -> date:
    """A date (as `date_value`) within the plausible range."""
    try:
        return PLAUSIBLE.check_date(date_value(value))
    except ValueError as exc:
        raise FieldError("implausible_date", str(exc)) from None


# The last day a stored date stays a date everywhere (kernel.values: representable): the driver stores
# 9999-12-31 as PostgreSQL's `infinity`, which no event consumer reads back as a date.
LAST_REPRESENTABLE_DATE = date(2099, 12, 31)


def plausible_end_date(value: Any) -> date:
    """A date (as `date_value`) from the plausible range's start to the last representable day: for ends
    that may lie years ahead (有效期)."""
    day = date_value(value)
    if not PLAUSIBLE.since <= day <= LAST_REPRESENTABLE_DATE:
        raise FieldError(
            "implausible_date", f"expected a date from {PLAUSIBLE.since.isoformat()} to {LAST_REPRESENTABLE_DATE}"
        )
    return day


def region_value(value: Any) -> str:
    raw = str(value).strip()
    if len(raw) != 6 or not raw.isdigit():
        raise FieldError("invalid_region", "expected a 6-digit administrative division code")
    return raw


def list_value(value: Any) -> list[str]:
    """A list (JSON) or text separated by ; ； 、 or |, each item a text of at most 200 characters."""
    item = text_value(200)
    if not isinstance(value, list):
        for separator in "；、|":
            value = str(value).replace(separator, ";")
        value = str(value).split(";")
    return [text for part in value if (text := item(part))]


def identifier_value(normalize: Callable[[str], str]) -> Parser:
    def parse(value: Any) -> str:
        try:
            return normalize(str(value))
        except InvalidIdentifier as exc:
            raise FieldError(exc.code, exc.message) from None

    return parse


# Fields that several feeds share.
ID_NUMBER = Field(
    "id_number", identifier_value(normalize_id_number), headers=("身份证号码", "证件号码", "公民身份号码"), repeats=True
)
PERSON_NAME = Field("name", text_value(50))
REGION_CODE = Field("region_code", region_value, headers=("地区代码", "行政区划代码"), repeats=True)


def uscc_field(name: str, *, required: bool, headers: tuple[str, ...] = ()) -> Field:
    return Field(name, identifier_value(normalize_uscc), required=required, headers=headers, repeats=True)
