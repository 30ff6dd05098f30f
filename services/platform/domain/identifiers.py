"""Identifiers of people and units: ID number and USCC validation, unit kinds, unit-name normalisation.

Pure logic with no I/O; every function here runs once per row of bulk uploads, so the
checks are hand-written loops over precomputed tables rather than regular expressions.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date
from enum import StrEnum
from operator import mul


class InvalidIdentifier(ValueError):
    """An identifier failed validation.

    ``code`` is a short machine code (``format``, ``checksum``, ``birth_date``); ``message``
    is English text that never contains the offending value, because the value is personal
    data and errors end up in receipts and logs.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- 居民身份证号码 (GB 11643-1999) -------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# Summing raw ASCII codes and subtracting the codes' share once is the fastest pure-Python
# weighted digit sum.
_ID_ASCII_OFFSET = ord("0") * sum(ID_WEIGHTS)
_EARLIEST_BIRTH = date(1900, 1, 1)


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit alone accepts full-width and other Unicode digits, which int() would
    # then silently convert.
    return text.isascii() and text.isdigit()


def id_check_char(first17: str) -> str:
    """The check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not _is_ascii_digits(first17):
        raise InvalidIdentifier("format", "the first 17 characters of an ID number must be digits")
    total = sum(map(mul, first17.encode("ascii"), ID_WEIGHTS)) - _ID_ASCII_OFFSET
    return _ID_CHECK_CHARS[total % 11]


def normalize_id_number(raw: str) -> str:
    """The canonical form of an ID number (upper-case ``X``), or ``InvalidIdentifier``.

    The area code is deliberately not checked against a division list: codes of abolished
    counties stay valid in the IDs of the people born there.
    """
    value = _id_shape(raw.strip())
    if id_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier("checksum", "the ID number's check character does not match")
    _check_birth(value)
    return value


def _id_shape(value: str) -> str:
    """17 ASCII digits and a digit or X (a lowercase x made upper-case), or ``InvalidIdentifier``."""
    if len(value) != 18 or not _is_ascii_digits(value[:17]):
        raise InvalidIdentifier("format", "an ID number must be 17 digits followed by a digit or X")
    last = value[17]
    if last == "x":
        value = value[:17] + "X"
    elif last != "X" and not ("0" <= last <= "9"):
        raise InvalidIdentifier("format", "an ID number must be 17 digits followed by a digit or X")
    return value


def _check_birth(value: str) -> None:
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdentifier("birth_date", "the ID number's birth date is not a calendar date") from None
    if birth < _EARLIEST_BIRTH:
        raise InvalidIdentifier("birth_date", "the ID number's birth date is before 1900")
    if birth > date.today():
        raise InvalidIdentifier("birth_date", "the ID number's birth date is in the future")


def fold_width(raw: str) -> str:
    """A code as bureaus write it, in ASCII: surrounding spaces (U+3000 too) gone, full-width digits,
    letters and punctuation folded (NFKC). For codes and numbers only: names keep their characters."""
    value = raw.strip()
    return value if value.isascii() else unicodedata.normalize("NFKC", value).strip()


def fold_key(text: str) -> str:
    """How two spellings of one label, code or header are compared: width (NFKC), spaces anywhere (U+3000
    too) and case do not count."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.split()).lower()


# NFKC already folds full-width （） and ［］ to ASCII; 【】 have no compatibility mapping.
ROUND_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")"})


class IdNumberNote(StrEnum):
    """What `read_id_number` did to, or found in, a number it returns."""

    upgraded = "upgraded"  # a 15-digit first-generation number, returned in its 18-digit form
    checksum = "checksum"  # the check character does not match (some issued numbers): the caller decides


def upgrade_id_number(first_generation: str) -> str:
    """The 18-digit form of a 15-digit first-generation ID number (GB 11643-1999): ``19`` before its
    two-digit birth year, the check character appended. Everyone with such a number was born in the 1900s."""
    if len(first_generation) != 15 or not _is_ascii_digits(first_generation):
        raise InvalidIdentifier("format", "a first-generation ID number must be 15 digits")
    first17 = first_generation[:6] + "19" + first_generation[6:]
    return first17 + id_check_char(first17)


def read_id_number(raw: str) -> tuple[str, IdNumberNote | None]:
    """An ID number as bureaus write it (padded, full-width digits, a lowercase x, a 15-digit first-generation
    number), in canonical form, with what the caller must know about it; ``InvalidIdentifier`` for anything
    else (format, birth date). A number whose check character fails is returned with ``checksum``: whether
    it is accepted is the caller's policy."""
    value = fold_width(raw)
    if len(value) == 15 and _is_ascii_digits(value):
        value = upgrade_id_number(value)
        _check_birth(value)
        return value, IdNumberNote.upgraded
    value = _id_shape(value)
    _check_birth(value)
    if id_check_char(value[:17]) != value[17]:
        return value, IdNumberNote.checksum
    return value, None


def is_valid_id_number(raw: str) -> bool:
    try:
        normalize_id_number(raw)
    except InvalidIdentifier:
        return False
    return True


def birth_date_from_id(id_number: str) -> date:
    """The birth date encoded in a normalised ID number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


# --- 统一社会信用代码 (GB 32100-2015) -----------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}
_NOT_IN_ALPHABET = 255
# bytes.translate maps all 17 characters to their values in one C call.
_USCC_VALUE_TABLE = bytes(_USCC_VALUES.get(chr(code), _NOT_IN_ALPHABET) for code in range(256))
_USCC_FORMAT_MESSAGE = "a USCC must be 18 characters from 0-9 and A-Z without I, O, S, V, Z"


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a USCC."""
    if len(first17) != 17:
        raise InvalidIdentifier("format", _USCC_FORMAT_MESSAGE)
    if not first17.isascii():
        raise InvalidIdentifier("format", _USCC_FORMAT_MESSAGE)
    values = first17.encode("ascii").translate(_USCC_VALUE_TABLE)
    if _NOT_IN_ALPHABET in values:
        raise InvalidIdentifier("format", _USCC_FORMAT_MESSAGE)
    total = sum(map(mul, values, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(raw: str) -> str:
    """The canonical (upper-case) form of a USCC, or ``InvalidIdentifier``; full-width characters and
    surrounding spaces (U+3000 too) are folded first. A check character that fails is the code ``checksum``
    (raised only when the format is right): early codes carry one, and ingest accepts them with a warning."""
    value = fold_width(raw).upper()
    if len(value) != 18 or value[17] not in _USCC_VALUES:
        raise InvalidIdentifier("format", _USCC_FORMAT_MESSAGE)
    if uscc_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier("checksum", "the USCC's check character does not match")
    return value


def is_valid_uscc(raw: str) -> bool:
    try:
        normalize_uscc(raw)
    except InvalidIdentifier:
        return False
    return True


class UnitKind(StrEnum):
    enterprise = "enterprise"
    government = "government"
    public_institution = "public_institution"
    university = "university"
    hr_agency = "hr_agency"
    social_organisation = "social_organisation"
    other = "other"


# Each kind's label: what dashboards show (the gateway's `GET /api/v1/labels`).
UNIT_KIND_LABELS: dict[UnitKind, str] = {
    UnitKind.enterprise: "企业",
    UnitKind.government: "机关",
    UnitKind.public_institution: "事业单位",
    UnitKind.university: "高等院校",
    UnitKind.hr_agency: "人力资源服务机构",
    UnitKind.social_organisation: "社会组织",
    UnitKind.other: "其他",
}
UNIT_KIND_LABELS_EN: dict[UnitKind, str] = {
    UnitKind.enterprise: "Enterprise",
    UnitKind.government: "Government body",
    UnitKind.public_institution: "Public institution",
    UnitKind.university: "University",
    UnitKind.hr_agency: "HR agency",
    UnitKind.social_organisation: "Social organisation",
    UnitKind.other: "Other",
}

# How bureaus' exports write a unit's kind besides the codes above (one place: the unit feed reads these).
UNIT_KIND_SPELLINGS: dict[str, UnitKind] = {
    **{kind.value: kind for kind in UnitKind},
    "企业": UnitKind.enterprise,
    "个体工商户": UnitKind.enterprise,
    "农民专业合作社": UnitKind.enterprise,
    "机关": UnitKind.government,
    "国家机关": UnitKind.government,
    "行政机关": UnitKind.government,
    "党政机关": UnitKind.government,
    "机关单位": UnitKind.government,
    "事业单位": UnitKind.public_institution,
    "高校": UnitKind.university,
    "院校": UnitKind.university,
    "高等院校": UnitKind.university,
    "高等学校": UnitKind.university,
    "人力资源服务机构": UnitKind.hr_agency,
    "社会组织": UnitKind.social_organisation,
    "社会团体": UnitKind.social_organisation,
    "民办非企业单位": UnitKind.social_organisation,
    "基金会": UnitKind.social_organisation,
    "群团组织": UnitKind.social_organisation,
    "其他": UnitKind.other,
    # Legal forms (企业类型, 市场主体类型) as the registration platforms write them: every enterprise form is an
    # enterprise; more of them, and these with a note (有限责任公司(自然人投资或控股)), by `unit_kind_of_legal_form`.
    "有限责任公司": UnitKind.enterprise,
    "股份有限公司": UnitKind.enterprise,
    "国有企业": UnitKind.enterprise,
    "集体企业": UnitKind.enterprise,
    "私营企业": UnitKind.enterprise,
    "个人独资企业": UnitKind.enterprise,
    "合伙企业": UnitKind.enterprise,
    "外商投资企业": UnitKind.enterprise,
    "港澳台商投资企业": UnitKind.enterprise,
    "全民所有制": UnitKind.enterprise,
    "集体所有制": UnitKind.enterprise,
    "股份合作制": UnitKind.enterprise,
    "个体户": UnitKind.enterprise,
    "社会服务机构": UnitKind.social_organisation,  # 民办非企业单位's name since the 2016 Charity Law
}

# How a legal form ends, most specific first: 民办非企业单位 is no enterprise.
_LEGAL_FORM_ENDINGS: tuple[tuple[str, UnitKind], ...] = (
    ("非企业单位", UnitKind.social_organisation),
    ("事业单位", UnitKind.public_institution),
    ("机关", UnitKind.government),
    ("有限责任公司", UnitKind.enterprise),
    ("有限公司", UnitKind.enterprise),
    ("分公司", UnitKind.enterprise),
    ("企业", UnitKind.enterprise),
    ("合作社", UnitKind.enterprise),
    ("个体工商户", UnitKind.enterprise),
    ("所有制", UnitKind.enterprise),
    ("合作制", UnitKind.enterprise),
    ("合伙", UnitKind.enterprise),
)
_NOTE_IN_BRACKETS = re.compile(r"\([^()]*\)")
_LEGAL_FORM_KEYS = {fold_key(spelling): kind for spelling, kind in UNIT_KIND_SPELLINGS.items()}


def unit_kind_of_legal_form(text: str) -> UnitKind | None:
    """The kind of a unit whose 企业类型/单位性质 names its legal form: 有限责任公司(自然人投资或控股),
    股份有限公司(上市、国有控股), 有限责任公司分公司, 非公司企业法人, 农民专业合作社, 事业单位法人 ... Notes in
    brackets and a trailing 法人 are not read; None for what names no form (公司 alone, 其他单位)."""
    form = _NOTE_IN_BRACKETS.sub("", fold_key(text).translate(ROUND_BRACKETS))
    if form in _LEGAL_FORM_KEYS:
        return _LEGAL_FORM_KEYS[form]
    form = form.removesuffix("法人")
    if form in _LEGAL_FORM_KEYS:
        return _LEGAL_FORM_KEYS[form]
    return next((kind for ending, kind in _LEGAL_FORM_ENDINGS if form.endswith(ending)), None)


_KIND_BY_PREFIX = {
    "11": UnitKind.government,
    "12": UnitKind.public_institution,
    "13": UnitKind.social_organisation,  # 群团组织 (mass organisations)
    "91": UnitKind.enterprise,
    "92": UnitKind.enterprise,  # 个体工商户
    "93": UnitKind.enterprise,  # 农民专业合作社
}


def unit_kind_from_uscc(uscc: str) -> UnitKind:
    """The default kind of a unit from its USCC's first two characters.

    Universities and HR agencies cannot be told from the code (they are ``12`` and ``91``);
    the unit feed says so explicitly.
    """
    kind = _KIND_BY_PREFIX.get(uscc[:2])
    if kind is not None:
        return kind
    if uscc[:1] == "5":
        return UnitKind.social_organisation
    return UnitKind.other


def is_public_body_uscc(uscc: str) -> bool:
    """Whether the USCC is a 机关 (``11``) or 事业单位 (``12``)."""
    return uscc[:2] in ("11", "12")


# --- unit names -----------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)  # a province's uploads name a few thousand units over and over
def normalize_unit_name(name: str) -> str:
    """The key under which two spellings of one unit name are equal.

    Only presentation differences are removed (character width, bracket style,
    whitespace); names that differ in any character stay different, because calling two
    units the same would hide a violation.
    """
    folded = unicodedata.normalize("NFKC", name).translate(ROUND_BRACKETS)
    return "".join(folded.split())
