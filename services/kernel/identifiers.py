"""Identifiers of people and units: ID number and USCC validation, unit-name normalisation, pseudonyms, masking and field encryption.

Pure logic with no I/O; every function here runs once per row of bulk uploads, so the
checks are hand-written loops over precomputed tables rather than regular expressions.
"""

from __future__ import annotations

import functools
import hmac
import os
import unicodedata
from datetime import date
from enum import StrEnum
from operator import mul

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


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


class DecryptionError(ValueError):
    """A stored field could not be decrypted: unknown key id, or the data was altered."""


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
    value = raw.strip()
    if len(value) != 18 or not _is_ascii_digits(value[:17]):
        raise InvalidIdentifier("format", "an ID number must be 17 digits followed by a digit or X")
    last = value[17]
    if last == "x":
        last = "X"
        value = value[:17] + last
    elif last != "X" and not ("0" <= last <= "9"):
        raise InvalidIdentifier("format", "an ID number must be 17 digits followed by a digit or X")
    if id_check_char(value[:17]) != last:
        raise InvalidIdentifier("checksum", "the ID number's check character does not match")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdentifier("birth_date", "the ID number's birth date is not a calendar date") from None
    if birth < _EARLIEST_BIRTH:
        raise InvalidIdentifier("birth_date", "the ID number's birth date is before 1900")
    if birth > date.today():
        raise InvalidIdentifier("birth_date", "the ID number's birth date is in the future")
    return value


def is_valid_id_number(raw: str) -> bool:
    try:
        normalize_id_number(raw)
    except InvalidIdentifier:
        return False
    return True


def birth_date_from_id(id_number: str) -> date:
    """The birth date encoded in a normalised ID number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def mask_id_number(id_number: str) -> str:
    """The platform's masked form ``150102**********34``: first 6 and last 2 characters."""
    if len(id_number) != 18:
        # Not an ID we understand: reveal nothing rather than guess which parts are safe.
        return "*" * len(id_number)
    return f"{id_number[:6]}**********{id_number[16:]}"


# --- 统一社会信用代码 (GB 32100-2015) -----------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}
_NOT_IN_ALPHABET = 255
# bytes.translate maps all 17 characters to their values in one C call.
_USCC_VALUE_TABLE = bytes(
    _USCC_VALUES.get(chr(code), _NOT_IN_ALPHABET) for code in range(256)
)
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
    """The canonical (upper-case) form of a USCC, or ``InvalidIdentifier``."""
    value = raw.strip().upper()
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

# NFKC already folds full-width （） and ［］ to ASCII; 【】 have no compatibility mapping.
_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")"})


@functools.lru_cache(maxsize=65536)  # a province's uploads name a few thousand units over and over
def normalize_unit_name(name: str) -> str:
    """The key under which two spellings of one unit name are equal.

    Only presentation differences are removed (character width, bracket style,
    whitespace); names that differ in any character stay different, because calling two
    units the same would hide a violation.
    """
    folded = unicodedata.normalize("NFKC", name).translate(_BRACKETS)
    return "".join(folded.split())


# --- pseudonyms and encryption -----------------------------------------------------------


class Pseudonymizer:
    """person_key = HMAC-SHA256(pepper, normalised ID), encoded short.

    Keyed, because a plain hash of an ID number can be reversed by enumerating the
    roughly 10^11 plausible IDs.
    """

    def __init__(self, pepper: bytes) -> None:
        if not pepper:
            raise ValueError("the pseudonym pepper must not be empty")
        self._pepper = pepper

    def person_key(self, id_number: str) -> str:
        """26 hex characters: the first 104 bits of the HMAC (hex, because it is C-fast on hot paths)."""
        return hmac.digest(self._pepper, id_number.encode("ascii"), "sha256")[:13].hex()


class FieldCipher:
    """AES-256-GCM with a key id recorded for rotation (cryptography's AESGCM).

    The key id is bound as associated data, so a blob cannot be relabelled as encrypted
    under another key. Old keys stay in ``keys`` to decrypt what they encrypted.
    """

    NONCE_BYTES = 12

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"encryption key {key_id!r} is not 32 bytes")
        if active_key_id not in keys:
            raise ValueError(f"active key id {active_key_id!r} names no key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    def encrypt(self, plaintext: str) -> tuple[str, bytes]:
        """``(key_id, nonce + ciphertext + tag)`` under the active key."""
        key_id = self.active_key_id
        nonce = os.urandom(self.NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, plaintext.encode("utf-8"), key_id.encode("utf-8"))
        return key_id, nonce + sealed

    def decrypt(self, key_id: str, blob: bytes) -> str:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"no encryption key with id {key_id!r}")
        nonce, sealed = blob[: self.NONCE_BYTES], blob[self.NONCE_BYTES :]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise DecryptionError("the encrypted field is corrupt or was altered") from None
        return plain.decode("utf-8")
