"""Tests of domain.identifiers and kernel.privacy: ID numbers, USCCs, unit names, pseudonyms, masking, field encryption."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.identifiers import (
    USCC_ALPHABET,
    InvalidIdentifier,
    UnitKind,
    birth_date_from_id,
    id_check_char,
    is_public_body_uscc,
    is_valid_id_number,
    is_valid_uscc,
    normalize_id_number,
    normalize_unit_name,
    normalize_uscc,
    unit_kind_from_uscc,
    uscc_check_char,
)
from kernel.privacy import DecryptionError, FieldCipher, Pseudonymizer, mask_id_number

# The worked example of GB 11643-1999, and a USCC whose check character was computed by
# hand from the standard's weights.
STANDARD_ID = "11010519491231002X"
KNOWN_USCC = "91350100M000100Y43"


def make_id(area: str, birth: date, sequence: int) -> str:
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


def make_uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def with_check(first17: str) -> str:
    return first17 + id_check_char(first17)


def with_wrong_check(first17: str) -> str:
    right = id_check_char(first17)
    return first17 + ("0" if right != "0" else "1")


areas = st.text(alphabet="0123456789", min_size=6, max_size=6)
births = st.dates(min_value=date(1900, 1, 1), max_value=date.today())
sequences = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(make_id, areas, births, sequences)
uscc_bodies = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


def raises_code(code: str, func, raw: str) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as caught:
        func(raw)
    assert caught.value.code == code
    return caught.value


# --- ID numbers -------------------------------------------------------------------------


def test_standard_example_is_valid() -> None:
    assert id_check_char(STANDARD_ID[:17]) == "X"
    assert normalize_id_number(STANDARD_ID) == STANDARD_ID
    assert birth_date_from_id(STANDARD_ID) == date(1949, 12, 31)


@given(valid_ids)
def test_valid_ids_round_trip(id_number: str) -> None:
    assert normalize_id_number(id_number) == id_number
    assert normalize_id_number(f"  {id_number}\t") == id_number
    assert is_valid_id_number(id_number)


@given(areas, births, sequences)
def test_birth_date_is_extracted(area: str, birth: date, sequence: int) -> None:
    assert birth_date_from_id(make_id(area, birth, sequence)) == birth


@given(valid_ids, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_changing_one_digit_breaks_the_checksum(id_number: str, position: int, delta: int) -> None:
    digit = (int(id_number[position]) + delta) % 10
    altered = id_number[:position] + str(digit) + id_number[position + 1 :]
    raises_code("checksum", normalize_id_number, altered)


@given(areas, births, sequences)
def test_lowercase_x_is_accepted_and_stored_uppercase(area: str, birth: date, sequence: int) -> None:
    id_number = make_id(area, birth, sequence)
    if id_number.endswith("X"):
        assert normalize_id_number(id_number.lower()) == id_number


def test_lowercase_x_example() -> None:
    assert normalize_id_number(STANDARD_ID.lower()) == STANDARD_ID


@pytest.mark.parametrize("area", ["152601", "152101", "150121", "159999", "000000"])
def test_area_codes_are_not_checked_against_a_division_list(area: str) -> None:
    # Codes of abolished counties (152601 was 集宁市) stay in people's IDs.
    assert is_valid_id_number(make_id(area, date(1975, 6, 1), 123))


@pytest.mark.parametrize(
    "first17",
    [
        "15010219800230123",  # 30 February
        "15010219801301123",  # month 13
        "15010219800100123",  # day 0
        "15010218991231123",  # before 1900
        f"150102{date.today() + timedelta(days=1):%Y%m%d}123",  # tomorrow
    ],
)
def test_impossible_birth_dates_are_rejected(first17: str) -> None:
    raises_code("birth_date", normalize_id_number, with_check(first17))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "15010219800101123",  # 17 characters
        "1501021980010112345",  # 19 characters
        "15010219800101X234",  # X not last
        "15010219800101123Y",
        "１５０１０２１９８００１０１１２３４",  # full-width digits
        "150102 9800101 234",
    ],
)
def test_malformed_ids_are_rejected_with_format(raw: str) -> None:
    raises_code("format", normalize_id_number, raw)
    assert not is_valid_id_number(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "15010219800101123",
        with_wrong_check("15010219800101123"),
        with_check("15010219800230123"),
        "１５０１０２１９８００１０１１２３４",
    ],
)
def test_error_messages_never_contain_the_value(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_id_number(raw)
    error = caught.value
    for text in (str(error), repr(error), error.message):
        assert raw not in text
        assert re.search(r"\d{4}", text) is None


def test_mask_keeps_first_six_and_last_two() -> None:
    id_number = make_id("150102", date(1980, 1, 1), 123)
    masked = mask_id_number(id_number)
    assert masked == id_number[:6] + "*" * 10 + id_number[-2:]
    assert len(masked) == 18


def test_mask_of_something_else_reveals_nothing() -> None:
    assert mask_id_number("1501021980") == "*" * 10


# --- USCC -------------------------------------------------------------------------------


def test_known_uscc_is_valid() -> None:
    assert uscc_check_char(KNOWN_USCC[:17]) == KNOWN_USCC[17]
    assert normalize_uscc(KNOWN_USCC.lower()) == KNOWN_USCC
    assert normalize_uscc(f" {KNOWN_USCC} ") == KNOWN_USCC


@given(uscc_bodies)
def test_valid_usccs_round_trip(body: str) -> None:
    uscc = make_uscc(body)
    assert uscc[17] in USCC_ALPHABET
    assert normalize_uscc(uscc) == uscc
    assert is_valid_uscc(uscc.lower())


@given(uscc_bodies, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=30))
def test_changing_one_uscc_character_breaks_the_checksum(body: str, position: int, delta: int) -> None:
    uscc = make_uscc(body)
    replacement = USCC_ALPHABET[(USCC_ALPHABET.index(uscc[position]) + delta) % 31]
    altered = uscc[:position] + replacement + uscc[position + 1 :]
    raises_code("checksum", normalize_uscc, altered)


@pytest.mark.parametrize(
    "raw",
    ["", "91350100M000100Y4", "91350100M000100Y433", "91350100I000100Y43", "91350100M0001OOY43", "91350100M000100Y4Z"],
)
def test_malformed_usccs_are_rejected_with_format(raw: str) -> None:
    error = raises_code("format", normalize_uscc, raw)
    assert not is_valid_uscc(raw)
    if raw:
        assert raw not in str(error)


def test_uscc_checksum_error_does_not_contain_the_value() -> None:
    wrong = KNOWN_USCC[:17] + ("4" if KNOWN_USCC[17] != "4" else "5")
    error = raises_code("checksum", normalize_uscc, wrong)
    assert wrong not in str(error) and wrong[:17] not in repr(error)


@pytest.mark.parametrize(
    ("prefix", "kind", "public"),
    [
        ("11", UnitKind.government, True),
        ("12", UnitKind.public_institution, True),
        ("13", UnitKind.social_organisation, False),
        ("91", UnitKind.enterprise, False),
        ("92", UnitKind.enterprise, False),
        ("93", UnitKind.enterprise, False),
        ("51", UnitKind.social_organisation, False),
        ("52", UnitKind.social_organisation, False),
        ("31", UnitKind.other, False),
        ("Y1", UnitKind.other, False),
    ],
)
def test_unit_kind_from_uscc_prefix(prefix: str, kind: UnitKind, public: bool) -> None:
    uscc = make_uscc(prefix + "150102MA0000001")
    assert unit_kind_from_uscc(uscc) is kind
    assert is_public_body_uscc(uscc) is public


# --- unit names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "内蒙古华建建设(集团)有限公司",
        "内蒙古华建建设【集团】有限公司",
        "内蒙古华建建设[集团]有限公司",
        "内蒙古华建建设［集团］有限公司",
        " 内蒙古 华建建设（集团）有限公司 ",
        "内蒙古\u3000华建建设（集团）有限公司",
        "内蒙古华建建设 ( 集团 ) 有限公司",
    ],
)
def test_presentation_variants_of_a_name_are_equal(variant: str) -> None:
    assert normalize_unit_name(variant) == normalize_unit_name("内蒙古华建建设（集团）有限公司")


def test_full_width_latin_and_digits_fold() -> None:
    assert normalize_unit_name("ＡＢＣ１２３建设有限公司") == normalize_unit_name("ABC123建设有限公司")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("赤峰华建建设有限公司", "赤峰华建建筑有限公司"),
        ("赤峰华建建设有限公司", "赤峰华建建设有限责任公司"),
        ("内蒙古华建建设有限公司", "内蒙古华建建设有限公司赤峰分公司"),
    ],
)
def test_look_alike_names_stay_different(first: str, second: str) -> None:
    assert normalize_unit_name(first) != normalize_unit_name(second)


# --- pseudonyms ---------------------------------------------------------------------------


def test_person_key_is_deterministic_and_short() -> None:
    pseudonymizer = Pseudonymizer(b"pepper-one")
    key = pseudonymizer.person_key(STANDARD_ID)
    assert key == Pseudonymizer(b"pepper-one").person_key(STANDARD_ID)
    assert len(key) == 26
    assert re.fullmatch(r"[0-9a-f]{26}", key)


def test_person_key_depends_on_pepper_and_id() -> None:
    other_id = make_id("150102", date(1980, 1, 1), 123)
    first = Pseudonymizer(b"pepper-one")
    assert first.person_key(STANDARD_ID) != Pseudonymizer(b"pepper-two").person_key(STANDARD_ID)
    assert first.person_key(STANDARD_ID) != first.person_key(other_id)


def test_person_key_matches_the_documented_construction() -> None:
    import hashlib
    import hmac

    # The key is stored in every service's tables: changing its encoding re-keys everyone.
    expected = hmac.new(b"pepper", STANDARD_ID.encode(), hashlib.sha256).digest()[:13].hex()
    assert Pseudonymizer(b"pepper").person_key(STANDARD_ID) == expected


def test_empty_pepper_is_refused() -> None:
    with pytest.raises(ValueError):
        Pseudonymizer(b"")


# --- field encryption -------------------------------------------------------------------

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(32, 64))


def test_cipher_round_trips() -> None:
    cipher = FieldCipher({"k1": OLD_KEY}, "k1")
    key_id, blob = cipher.encrypt(STANDARD_ID)
    assert key_id == "k1"
    assert STANDARD_ID.encode() not in blob
    assert cipher.decrypt(key_id, blob) == STANDARD_ID
    assert cipher.decrypt(*cipher.encrypt("王巴特尔")) == "王巴特尔"


def test_encryption_uses_a_fresh_nonce() -> None:
    cipher = FieldCipher({"k1": OLD_KEY}, "k1")
    assert cipher.encrypt(STANDARD_ID)[1] != cipher.encrypt(STANDARD_ID)[1]


def test_old_data_decrypts_after_rotation() -> None:
    key_id, blob = FieldCipher({"k1": OLD_KEY}, "k1").encrypt(STANDARD_ID)
    rotated = FieldCipher({"k1": OLD_KEY, "k2": NEW_KEY}, "k2")
    assert rotated.decrypt(key_id, blob) == STANDARD_ID
    new_key_id, new_blob = rotated.encrypt(STANDARD_ID)
    assert new_key_id == "k2"
    assert rotated.decrypt(new_key_id, new_blob) == STANDARD_ID


@pytest.mark.parametrize("position", [0, 11, 12, -1])
def test_tampering_is_detected(position: int) -> None:
    cipher = FieldCipher({"k1": OLD_KEY}, "k1")
    key_id, blob = cipher.encrypt(STANDARD_ID)
    tampered = bytearray(blob)
    tampered[position] ^= 0x01
    with pytest.raises(DecryptionError):
        cipher.decrypt(key_id, bytes(tampered))


def test_unknown_key_relabelled_and_truncated_blobs_fail() -> None:
    cipher = FieldCipher({"k1": OLD_KEY, "k2": OLD_KEY}, "k1")
    key_id, blob = cipher.encrypt(STANDARD_ID)
    for bad_key_id, bad_blob in [("k9", blob), ("k2", blob), (key_id, blob[:20]), (key_id, b"")]:
        with pytest.raises(DecryptionError) as caught:
            cipher.decrypt(bad_key_id, bad_blob)
        assert STANDARD_ID not in str(caught.value)


def test_cipher_refuses_bad_configuration() -> None:
    with pytest.raises(ValueError):
        FieldCipher({"k1": b"short"}, "k1")
    with pytest.raises(ValueError):
        FieldCipher({"k1": OLD_KEY}, "k2")
