"""Input fields: how one value of an uploaded record is read, validated and normalised (never echoing it)."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from domain.identifiers import (
    _ID_CHECK_CHARS,
    ID_WEIGHTS,
    IdNumberNote,
    InvalidIdentifier,
    fold_key,
    fold_width,
    normalize_uscc,
    read_id_number,
)
from kernel.values import PLAUSIBLE


class FieldError(Exception):
    """A value that cannot be accepted; the message never contains the value itself. `params` are what the
    message says besides the code (a range, a length): receipts render it from them in the reader's language
    (ingest.messages)."""

    def __init__(self, code: str, message: str, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


Parser = Callable[[Any], Any]
# Column-wise tests of which values a parser returns as they are, without a note: ingest.columnar parses only the
# others (a column of pyarrow text → a column of booleans). Each is written beside its parser, checked against it
# in the tests.
AS_THEY_ARE: dict[Parser, Callable[[Any], Any]] = {}


@dataclass(frozen=True, slots=True)
class Noted:
    """What a parser returns for a value it accepted after a change the receipt must state (a 15-digit ID
    number made 18 digits, a USCC whose check character fails): the value, and a warning without the value."""

    value: Any
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Flagged(Noted):
    """A value a batch accepts only when the uploading client's profile accepts flagged values (an ID number
    whose check character fails, `IdChecksumPolicy.accept_and_flag`): then it is a `Noted`; otherwise the row
    error `refused` (`Feed.validate` decides)."""

    refused: FieldError


@dataclass(frozen=True)
class Field:
    """One input field: its canonical name and its parser. The headers accepted for its column are its
    feed's (ingest.headers)."""

    name: str
    parse: Parser
    required: bool = True
    # Values that recur within an upload (a person's ID on each of their months, a unit's USCC on
    # thousands of rows) are parsed once per upload and then looked up.
    repeats: bool = False


def text_value(max_length: int = 200) -> Parser:
    def parse(value: Any) -> str:
        result = str(value).strip()
        if "\x00" in result:  # PostgreSQL text cannot hold NUL: the whole upload would fail in the store
            raise FieldError("invalid_text", "contains a NUL character")
        if len(result) > max_length:
            raise FieldError("too_long", f"longer than {max_length} characters", {"max_length": max_length})
        return result

    AS_THEY_ARE[parse] = lambda column: texts_as_they_are(column, max_length)
    return parse


# What str.strip() strips (str.isspace), as pyarrow's utf8_trim takes it. Checked against Python in the tests.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def texts_as_they_are(column: Any, max_length: int) -> Any:
    """Which values of a pyarrow text column `text_value(max_length)` returns as they are: not empty, not padded,
    no NUL, not too long."""
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    length = pc.utf8_length(column)
    fits = pc.and_(pc.greater_equal(length, 1), pc.less_equal(length, max_length))
    plain = pc.and_(pc.invert(pc.match_substring(column, "\x00")), pc.equal(pc.utf8_trim(column, WHITESPACE), column))
    return pc.fill_null(pc.and_(fits, plain), False)


class ChoiceParser:
    """Maps accepted spellings (codes, Chinese labels) to codes; `choices` is what a template's field guide
    lists (ingest.templates). `otherwise` reads the spellings that follow a rule rather than a list (a legal
    form with a note in brackets): the code, or None for an invalid choice."""

    def __init__(self, choices: Mapping[str, str], otherwise: Callable[[str], str | None] | None = None) -> None:
        self.choices = dict(choices)
        self._lookup = {choice_key(k): v for k, v in choices.items()}
        self._allowed = ", ".join(sorted(set(choices.values())))
        self._otherwise = otherwise

    def __call__(self, value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a code in a numeric spreadsheet cell (险种 110)
        text = str(value)
        code = self._lookup.get(choice_key(text))
        if code is None and self._otherwise is not None:
            code = self._otherwise(text)
        if code is None:
            raise FieldError("invalid_choice", f"not one of: {self._allowed}")
        return code


choice_key = fold_key  # what spellings of a choice are compared by: width, spaces anywhere and case do not count


def choice_value(choices: Mapping[str, str], otherwise: Callable[[str], str | None] | None = None) -> Parser:
    """Maps accepted spellings (codes, Chinese labels) to codes (see ChoiceParser)."""
    return ChoiceParser(choices, otherwise)


# --- dates and months as bureaus write them ---------------------------------------------------------
#
# Text: YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYY年M月D日, YYYYMMDD, any of them followed by a time at midnight
# (00:00, 00:00:00.000, with Z or an offset); full-width digits and punctuation fold. A date-time at any
# other time is refused (`ambiguous_date`): which day it is depends on a time zone the file does not state.
# Numbers (JSON, spreadsheet cells, or the same as digits in text) are told apart by size: five digits
# a spreadsheet serial day (1900 date system: 45000 is 2023-03-15; a fraction is a time of day, so
# `ambiguous_date`; fewer digits could be a year, so are refused), eight digits YYYYMMDD, above 10^11 epoch milliseconds (the construction-market API),
# accepted at midnight Beijing time or UTC. Months: YYYY-MM, YYYY-M, YYYY/M, YYYY年M月, YYYY.MM, YYYYMM,
# a serial or a date cell (its month). `YYYY.M` with one digit is refused (`ambiguous_month`): a numeric
# cell 2024.10 reads 2024.1.

_SERIAL_DAY_ZERO = date(1899, 12, 30)  # spreadsheets count from here (the 1900 system from 1900-03-01 on)
_SERIALS = range(10_000, 100_000)  # 1927-05-18 to 2173-10-14: never YYYYMMDD nor YYYYMM, nor a year
_EPOCH_MILLISECONDS_ABOVE = 10**11  # 1973-03-03: a larger number is epoch milliseconds
_EPOCH_MILLISECONDS_BELOW = 4_102_444_800_000  # 2100-01-01: no later date is plausible
_DAY_MS = 86_400_000
_BEIJING_OFFSET_MS = 8 * 3_600_000
_EPOCH = date(1970, 1, 1)

_INVALID_DATE = "expected a date such as YYYY-MM-DD, YYYY/M/D, YYYYMMDD or YYYY年M月D日"
_INVALID_MONTH = "expected a month such as YYYY-MM, YYYYMM, YYYY/M or YYYY年M月"


def _ambiguous_date() -> FieldError:
    return FieldError("ambiguous_date", "a date with a time of day other than midnight: send the date alone")


def date_value(value: Any) -> date:
    """A date in any form a bureau writes one (see above); never guesses."""
    if isinstance(value, str):
        # The canonical form first: most files write it, and it needs no more than this.
        if len(value) == 10 and value[4] == "-" and value[7] == "-" and value.isascii():
            try:
                return date(int(value[:4]), int(value[5:7]), int(value[8:]))
            except ValueError:
                pass  # not digits, or not a calendar day: the general reading says which
        return _date_from_text(value)
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise _ambiguous_date()
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _date_from_number(value)
    return _date_from_text(str(value))


def _date_from_text(raw: str) -> date:
    text = fold_width(raw)
    for separator in (" ", "T"):
        if separator in text:
            text, clock = text.split(separator, 1)
            digits = _clock_digits(clock.strip())
            if digits is None:
                raise FieldError("invalid_date", _INVALID_DATE)
            if digits.strip("0"):
                raise _ambiguous_date()
            break
    if text.isdigit() or _is_whole_number(text):
        return _date_from_number(int(text.split(".")[0]))
    if text.endswith(("日", "号")) and "年" in text and "月" in text:
        year, rest = text[:-1].split("年", 1)
        parts = [year, *rest.split("月", 1)]
    else:
        parts = next((text.split(sep) for sep in "-/." if text.count(sep) == 2), [])
    if len(parts) != 3 or len(parts[0]) != 4 or not all(1 <= len(p) <= 2 for p in parts[1:]):
        raise FieldError("invalid_date", _INVALID_DATE)
    return _calendar_day(*parts)


def _calendar_day(year: str, month: str, day: str) -> date:
    if not (year + month + day).isdigit():
        raise FieldError("invalid_date", _INVALID_DATE)
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise FieldError("invalid_date", "not a calendar date") from None


def _clock_digits(text: str) -> str | None:
    """The digits of a time of day (12:30, 08:00:00.000, with a Z or an offset or not); None for no time."""
    text = text.removesuffix("Z")
    if len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        text = text[:-6]
    hms, point, fraction = text.partition(".")
    parts = hms.split(":")
    if 2 <= len(parts) <= 3 and all(p.isdigit() and len(p) <= 2 for p in parts) and (not point or fraction.isdigit()):
        return "".join(parts) + fraction
    return None


def _is_whole_number(text: str) -> bool:
    """Digits with a point and only zeros after it (a number cell written out: 45123.0)."""
    whole, point, fraction = text.partition(".")
    return bool(point) and whole.isdigit() and fraction.isdigit() and not fraction.strip("0")


def _date_from_number(number: float) -> date:
    if isinstance(number, float):
        if not number.is_integer():
            if int(number) in _SERIALS:
                raise _ambiguous_date()  # a serial's fraction is its time of day
            raise FieldError("invalid_date", _INVALID_DATE)
        number = int(number)
    if number in _SERIALS:
        return _SERIAL_DAY_ZERO + timedelta(days=number)
    if 10_000_000 <= number <= 99_991_231:
        digits = str(number)
        return _calendar_day(digits[:4], digits[4:6], digits[6:])
    if _EPOCH_MILLISECONDS_ABOVE < number < _EPOCH_MILLISECONDS_BELOW:
        for offset in (_BEIJING_OFFSET_MS, 0):  # midnight in Beijing, or midnight UTC
            days, rest = divmod(number + offset, _DAY_MS)
            if not rest:
                return _EPOCH + timedelta(days=days)
        raise _ambiguous_date()
    raise FieldError("invalid_date", _INVALID_DATE)


def month_value(value: Any) -> str:
    """A month in any form a bureau writes one (see above) as `YYYY-MM`; never guesses."""
    if isinstance(value, str):
        if len(value) == 7 and value[4] == "-" and value.isascii() and value[:4].isdigit() and value[5:].isdigit():
            if 1 <= int(value[5:]) <= 12:
                return value
            raise FieldError("invalid_month", _INVALID_MONTH)
        return _month_from_text(value)
    if isinstance(value, date):  # a date cell formatted as a month (a datetime: at midnight)
        return _month_of(date_value(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _month_from_number(value)
    return _month_from_text(str(value))


def _month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_from_text(raw: str) -> str:
    text = fold_width(raw)
    if text.isdigit() or _is_whole_number(text):
        return _month_from_number(int(text.split(".")[0]))
    if text.endswith("月") and "年" in text:
        year, month = text[:-1].split("年", 1)
    elif text.count(".") == 1:
        year, month = text.split(".")
        if len(month) == 1:
            raise FieldError("ambiguous_month", "YYYY.M: a number cell (2024.10) loses its last zero; write YYYY.MM")
    else:
        year, month = next((text.split(sep) for sep in "-/" if text.count(sep) == 1), ("", ""))
    return _year_month(year, month)


def _year_month(year: str, month: str) -> str:
    if len(year) != 4 or not 1 <= len(month) <= 2 or not (year + month).isdigit() or not 1 <= int(month) <= 12:
        raise FieldError("invalid_month", _INVALID_MONTH)
    return f"{year}-{int(month):02d}"


def _month_from_number(number: float) -> str:
    if isinstance(number, float):
        if not number.is_integer():
            raise FieldError("invalid_month", _INVALID_MONTH)
        number = int(number)
    if number in _SERIALS:
        return _month_of(_SERIAL_DAY_ZERO + timedelta(days=number))
    if 100_000 <= number <= 999_999:
        digits = str(number)
        return _year_month(digits[:4], digits[4:])
    raise FieldError("invalid_month", _INVALID_MONTH)


# What a bureau's record can be about lies in the plausible range (kernel.values): a payment for 9999-12
# or a registration in 1900 is a typing error, not evidence. The error says the range, never the value.


def _plausible_months() -> dict[str, str]:
    """The plausible range as an error's parameters."""
    return {"since": f"{PLAUSIBLE.since:%Y-%m}", "until": PLAUSIBLE.last_month()}


def plausible_month_value(value: Any) -> str:
    """A month (as `month_value`) within the plausible range."""
    try:
        return PLAUSIBLE.check_month(month_value(value))
    except ValueError as exc:
        raise FieldError("implausible_month", str(exc), _plausible_months()) from None


def plausible_date_value(value: Any) -> date:
    """A date (as `date_value`) within the plausible range."""
    try:
        return PLAUSIBLE.check_date(date_value(value))
    except ValueError as exc:
        last = PLAUSIBLE.last_month()
        until = f"{last}-{calendar.monthrange(int(last[:4]), int(last[5:]))[1]}"  # the month's last day
        raise FieldError("implausible_date", str(exc), {"since": PLAUSIBLE.since.isoformat(), "until": until}) from None


# The last day a stored date stays a date everywhere (kernel.values: representable): the driver stores
# 9999-12-31 as PostgreSQL's `infinity`, which no event consumer reads back as a date.
LAST_REPRESENTABLE_DATE = date(2099, 12, 31)


def plausible_end_date(value: Any) -> date:
    """A date (as `date_value`) from the plausible range's start to the last representable day: for ends
    that may lie years ahead (有效期)."""
    day = date_value(value)
    if not PLAUSIBLE.since <= day <= LAST_REPRESENTABLE_DATE:
        since, until = PLAUSIBLE.since.isoformat(), LAST_REPRESENTABLE_DATE.isoformat()
        raise FieldError(
            "implausible_date", f"expected a date from {since} to {until}", {"since": since, "until": until}
        )
    return day


def region_value(value: Any) -> str:
    """A 6-digit division code; also a numeric spreadsheet cell, full-width digits, padding."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    raw = value if isinstance(value, str) and len(value) == 6 and value.isascii() else fold_width(str(value))
    if len(raw) != 6 or not raw.isascii() or not raw.isdigit():
        raise FieldError("invalid_region", "expected a 6-digit administrative division code")
    return raw


def list_value(value: Any) -> list[str]:
    """A list (JSON) or text separated by ; ； 、 or |, each item a text of at most 200 characters."""
    item = _LIST_ITEM
    if not isinstance(value, list):
        for separator in "；、|":
            value = str(value).replace(separator, ";")
        value = str(value).split(";")
    return [text for part in value if (text := item(part))]


_LIST_ITEM = text_value(200)


def code_text(max_length: int) -> Parser:
    """A code written as text (a certificate or seal number): full-width characters folded, then as `text_value`."""
    text = text_value(max_length)

    def parse(value: Any) -> str:
        return text(fold_width(value) if isinstance(value, str) else value)

    AS_THEY_ARE[parse] = lambda column: codes_as_they_are(column, max_length)
    return parse


def codes_as_they_are(column: Any, max_length: int) -> Any:
    """Which values of a pyarrow text column `code_text(max_length)` returns as they are: as `texts_as_they_are`,
    and ASCII or unchanged by NFKC (pyarrow's Unicode data is no older than Python's: what it keeps, Python's
    keeps — checked in the tests)."""
    import pyarrow.compute as pc

    folded = pc.or_(pc.string_is_ascii(column), pc.equal(pc.utf8_normalize(column, "NFKC"), column))
    return pc.and_(texts_as_they_are(column, max_length), pc.fill_null(folded, False))


_ID_CHECKSUM_REFUSED = FieldError("checksum", "the ID number's check character does not match")
# A spreadsheet's number cell keeps 15 digits: an ID number or USCC typed into one has lost the rest (whole
# numbers of up to 15 digits reach the parsers as int, exact: ingest.formats). Never guessed back.
_ID_AS_NUMBER = "a number cell, whose last digits are lost: format the column as text"


def id_number_value(value: Any) -> Any:
    """An ID number as bureaus write it (domain.identifiers.read_id_number). A 15-digit number is stored in its
    18-digit form and the receipt says so; one whose check character fails is `Flagged`: the client's profile
    decides."""
    if isinstance(value, float):
        raise FieldError("id_as_number", _ID_AS_NUMBER)
    try:
        number, note = read_id_number(str(value))
    except InvalidIdentifier as exc:
        raise FieldError(exc.code, exc.message) from None
    if note is None:
        return number
    if note is IdNumberNote.upgraded:
        return Noted(number, "id_number_upgraded", "a 15-digit ID number: stored in its 18-digit form")
    return Flagged(
        number,
        "id_checksum_flagged",
        "the ID number's check character does not match: accepted and flagged, as the client's profile says",
        _ID_CHECKSUM_REFUSED,
    )


def id_check_characters(first17: Any) -> Any:
    """domain.identifiers.id_check_char of each value of a pyarrow column of 17 ASCII digits, a column at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = None
    for position, weight in enumerate(ID_WEIGHTS):
        digit = pc.cast(pc.utf8_slice_codeunits(first17, position, position + 1), pa.int64())
        term = pc.multiply(digit, weight)
        total = term if total is None else pc.add(total, term)
    remainder = pc.subtract(total, pc.multiply(pc.divide(total, 11), 11))
    return pa.array(list(_ID_CHECK_CHARS)).take(remainder)


def id_numbers_as_they_are(column: Any) -> Any:
    """Which values of a pyarrow text column `id_number_value` returns as they are, with no note: 17 ASCII digits
    and a digit or X, a birth date from 1900 to today that is a calendar day, a check character that matches.
    The rest (a padded, full-width, lowercase, 15-digit or wrong number) is for `id_number_value` to judge."""
    import pyarrow as pa
    import pyarrow.compute as pc

    shaped = pc.fill_null(pc.match_substring_regex(column, r"^[0-9]{17}[0-9X]$"), False)
    numbers = column.filter(shaped)
    birth = pc.utf8_slice_codeunits(numbers, 6, 14)
    day = pc.strptime(birth, format="%Y%m%d", unit="s", error_is_null=True)  # a day past the month's end rolls over
    calendar_day = pc.equal(pc.day(day), pc.cast(pc.utf8_slice_codeunits(birth, 6, 8), pa.int64()))
    lived = pc.and_(pc.greater_equal(birth, "19000101"), pc.less_equal(birth, date.today().strftime("%Y%m%d")))
    checked = pc.equal(
        id_check_characters(pc.utf8_slice_codeunits(numbers, 0, 17)), pc.utf8_slice_codeunits(numbers, 17, 18)
    )
    fine = pc.fill_null(pc.and_(pc.and_(calendar_day, lived), checked), False)
    return pc.replace_with_mask(shaped, shaped, fine)


AS_THEY_ARE[id_number_value] = id_numbers_as_they_are


def uscc_value(value: Any) -> Any:
    """A USCC (domain.identifiers.normalize_uscc); one whose check character fails, as some early codes do,
    is accepted with a warning."""
    if isinstance(value, float):
        raise FieldError("id_as_number", _ID_AS_NUMBER)
    try:
        return normalize_uscc(str(value))
    except InvalidIdentifier as exc:
        if exc.code != "checksum":
            raise FieldError(exc.code, exc.message) from None
    return Noted(
        fold_width(str(value)).upper(),
        "uscc_check_character",
        "the USCC's check character does not match (as in some early codes): accepted",
    )


# Fields that several feeds share.
ID_NUMBER = Field("id_number", id_number_value, repeats=True)
PERSON_NAME = Field("name", text_value(50))
REGION_CODE = Field("region_code", region_value, repeats=True)


def uscc_field(name: str, *, required: bool) -> Field:
    return Field(name, uscc_value, required=required, repeats=True)
