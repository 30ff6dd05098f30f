"""The columnar path of CSV uploads (ingest.columnar) reads and validates as the row path does (no database):
the same records with the same numbers and lines, the same values, problems and warnings — for files as
bureaus send them (title lines, blank and whitespace lines, quoted line breaks, short and long records, CRLF,
GB18030, full-width and padded values, every kind of bad value), whatever the blocks and chunks. And the
batched sealing gives what the one-at-a-time sealing gives.

No value is printed: a failure names record numbers and field names only.
"""

from __future__ import annotations

import csv
import io
import random
import sys
import unicodedata
from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pytest

from devtools.feeds import broken_checksum
from devtools.synthetic import generate_province
from domain.identifiers import birth_date_from_id, id_check_char
from domain.records import FIELDS, ZH_HEADERS, RecordKind
from ingest import columnar
from ingest.feeds import Feed, Reading
from ingest.fields import (
    AS_THEY_ARE,
    WHITESPACE,
    FieldError,
    code_text,
    id_number_value,
    id_numbers_as_they_are,
    text_value,
)
from ingest.formats import UploadError, read_rows
from ingest.persons import id_facts
from ingest.profiles import FeedProfile
from insurance_svc.records import FEEDS as INSURANCE_FEEDS
from kernel.privacy import FieldCipher, Pseudonymizer
from registry_svc.feeds import REGISTRATIONS, UNITS

CONTRIBUTIONS = INSURANCE_FEEDS[0]


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


Outcome = tuple[int, int, dict[str, Any] | None, list[Any], list[Any]]


async def _by_rows(
    data: bytes, feed: Feed, *, charset: str, size: int, flagged: bool, profile: FeedProfile, rows: int = 0
):
    """What the row path makes of the upload: (number, line, row or None, problems, warnings) per record."""
    where = Reading(profile=profile)
    memo: dict[str, dict[Any, Any]] = {}
    found: list[Outcome] = []
    async for number, raw in read_rows(_chunks(data, size), f"text/csv; charset={charset}", feed, where):
        assert raw is not None
        notes: list[Any] = []
        row, problems = feed.validate(raw, memo, notes, flagged)
        found.append((number, where.line, row, problems, notes if row is not None else []))
    return found, where


async def _by_columns(
    data: bytes, feed: Feed, *, charset: str, size: int, flagged: bool, profile: FeedProfile, rows: int
):
    """The same from the columnar path."""
    where = Reading(profile=profile)
    memo: dict[str, dict[Any, Any]] = {}
    found: list[Outcome] = []
    async for chunk in columnar.read_columns(_chunks(data, size), charset, feed, where, rows):
        assert chunk.rows <= rows
        checked = columnar.check_columns(feed, chunk, memo, flagged)
        values = {name: column.to_pylist() for name, column in checked.values.items()}
        for index in range(chunk.rows):
            problems = checked.problems.get(index, [])
            row = None if problems else {name: column[index] for name, column in values.items()}
            notes = checked.notes.get(index, []) if row is not None else []
            found.append((chunk.first + index, chunk.lines[index], row, problems, notes))
    return found, where


async def _same(
    data: bytes,
    feed: Feed,
    *,
    charset: str = "utf-8",
    sizes: tuple[int, ...] = (1 << 20,),
    rows: tuple[int, ...] = (5000,),
    flagged: bool = False,
    profile: FeedProfile | None = None,
) -> list[Outcome]:
    """Asserts both paths agree (for each network chunk size and chunk of rows); returns the outcomes."""
    profile = profile or FeedProfile()
    expected, where = await _by_rows(data, feed, charset=charset, size=max(sizes), flagged=flagged, profile=profile)
    for size in sizes:
        for count in rows:
            found, seen = await _by_columns(
                data, feed, charset=charset, size=size, flagged=flagged, profile=profile, rows=count
            )
            assert [item[:2] for item in found] == [item[:2] for item in expected], (size, count)
            for mine, theirs in zip(found, expected, strict=True):
                assert mine == theirs, f"record {theirs[0]} differs (size {size}, rows {count})"
            assert (seen.ignored_columns, seen.columns_as_written, seen.column_numbers) == (
                where.ignored_columns,
                where.columns_as_written,
                where.column_numbers,
            )
    return expected


def _registrations(count: int, seed: int = 5) -> list[dict[str, Any]]:
    return [dict(row) for row in generate_province(people=count, seed=seed, with_payments=False).registrations[:count]]


def _csv(
    rows: list[dict[str, Any]], fields: Sequence[str], *, line_end: str = "\n", header: Sequence[str] | None = None
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow(header or fields)
    for row in rows:
        writer.writerow(["" if row.get(name) is None else row[name] for name in fields])
    return out.getvalue()


# Cells as bureaus write them, good and bad, each for the fields it fits.
ODD_CELLS: dict[str, list[str]] = {
    "id_number": ["", " ", "　", "x", "150102880101001", "１５０１０２１９８８０１０１００１Ｘ", "12345678901234567X"],
    "name": ["", "   ", "　张　三　", "a\x00b", "长" * 51, " 李四 ", "\u200b"],
    "category": ["", "一级建造师", "二级建造师（临时）", "建造师", "constructor_1 ", "造价工程师"],
    "specialty": ["", "建筑工程；市政公用工程", "建筑工程|机电工程|建筑工程", " ; ", "工程" * 120],
    "certificate_no": ["", "  蒙１２３  ", "x" * 65, "\x1f"],
    "seal_no": ["", " ", "ＡＢＣ１２３"],
    "unit_name": ["", "\t", "某某（集团）有限公司 ", "a,b\nc", 'say "hi"'],
    "unit_uscc": ["", "91150100MA0N2R3X7Q", "９１１５０１００ＭＡ０Ｎ２Ｒ３Ｘ７Ｑ", "91150100MA0N2R3X70", "123", "９"],
    "region_code": ["", "150102", "１５０１０２", "15010", "abcdef", " 150102 ", "150102.0"],
    "registered_on": [
        "",
        "2020/1/2",
        "2020年1月2日",
        "20200102",
        "44000",
        "2020-02-30",
        "1800-01-01",
        "2020-01-02 08:00",
    ],
    "valid_until": ["", "2099-12-31", "9999-12-31", "2030.1.1", "45000.5"],
    "status": ["", "active", "有效", "注销", "unknown", "ACTIVE"],
}


def _bureau_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    rows = _registrations(count, seed=rng.randrange(1000))
    rows += [dict(row) for row in rows[: count // 5]]  # certificates listed again
    for row in rows:
        if rng.random() < 0.05:
            row["id_number"] = broken_checksum(row["id_number"])
        for name in FIELDS[RecordKind.registrations]:
            if rng.random() < 0.03:
                row[name] = rng.choice(ODD_CELLS[name])
        if rng.random() < 0.03:
            row["id_number"] = row["id_number"].lower()
    for row in rows[:3]:  # values accepted with a warning: a first-generation ID number, a USCC failing its check
        row["id_number"] = (
            row["id_number"][:6] + row["id_number"][8:17] if row["id_number"][6:8] == "19" else "150102880101001"
        )
        row["unit_uscc"] = "91150100MA0N2R3X70"
    rng.shuffle(rows)
    return rows


def test_whitespace_is_what_python_strips():
    assert set(WHITESPACE) == {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}


async def test_a_clean_export_reads_the_same_in_any_blocks_and_chunks(monkeypatch: pytest.MonkeyPatch):
    rows = _registrations(60)
    data = _csv(rows, FIELDS[RecordKind.registrations]).encode()
    for block in (1 << 20, 500, 97):
        monkeypatch.setattr(columnar, "BLOCK_CHARS", block)
        found = await _same(data, REGISTRATIONS, sizes=(len(data), 7), rows=(5000, 13, 1))
        assert len(found) == 60 and all(row is not None for _, _, row, _, _ in found)


@pytest.mark.parametrize("seed", range(6))
async def test_bureau_files_with_every_kind_of_value_read_the_same(monkeypatch: pytest.MonkeyPatch, seed: int):
    rng = random.Random(seed)
    rows = _bureau_rows(rng, 80)
    fields = FIELDS[RecordKind.registrations]
    text = _csv(rows, fields, line_end=rng.choice(["\n", "\r\n"]))
    lines = text.splitlines(keepends=True)
    # Blank lines, lines of empty or padded cells, short and long records between the records.
    for _ in range(6):
        at = rng.randrange(2, len(lines))
        lines.insert(
            at, rng.choice(["\n", "\r\n", ",,,,\n", " , ,　\n", "\x1f,\x1c\n", "x,y\n", ",".join("a" * 14) + "\n"])
        )
    text = "".join(lines)
    if seed % 2:
        text = "某省建筑市场监管平台 注册人员导出\n\n" + text  # a title line above the header
    monkeypatch.setattr(columnar, "BLOCK_CHARS", rng.choice([200, 1000]))
    read = columnar._arrow_records
    by_arrow: list[bool] = []

    def counted(block: str, width: int) -> Any:
        table = read(block, width)
        by_arrow.append(table is not None)
        return table

    monkeypatch.setattr(columnar, "_arrow_records", counted)
    found = await _same(text.encode(), REGISTRATIONS, sizes=(1 << 20, 33), rows=(5000, 7), flagged=bool(seed % 3))
    assert True in by_arrow and False in by_arrow  # blocks of both kinds
    assert any(problems for _, _, _, problems, _ in found) and any(notes for _, _, _, _, notes in found)
    assert any(row is not None for _, _, row, _, _ in found)


async def test_gb18030_chinese_headers_and_a_two_line_header_read_the_same(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(columnar, "BLOCK_CHARS", 300)
    rows = _registrations(30)
    fields = FIELDS[RecordKind.registrations]
    chinese = [ZH_HEADERS[RecordKind.registrations].get(name, name) for name in fields]
    data = ("\ufeff" + _csv(rows, fields, header=chinese)).encode("gb18030")
    await _same(data, REGISTRATIONS, charset="gb18030", sizes=(len(data), 5), rows=(5000, 4))
    upper = ",".join(["人员信息", "", "注册信息"] + [""] * (len(fields) - 3))
    two_lines = upper + "\n" + _csv(rows, fields, header=chinese)
    await _same(two_lines.encode(), REGISTRATIONS, rows=(5000, 9))


async def test_quoted_line_breaks_and_ragged_records_fall_back_to_the_csv_module(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(columnar, "BLOCK_CHARS", 150)
    rows = _registrations(25)
    rows[3]["unit_name"] = "第一行\n第二行"
    rows[9]["unit_name"] = 'a "quoted" name,\r\n with a comma'
    rows[17]["name"] = "\r"
    fields = FIELDS[RecordKind.registrations]
    text = _csv(rows, fields).replace(rows[12]["certificate_no"], rows[12]["certificate_no"] + ",extra")
    text = text + ",".join(["x"] * 3)  # a short last record without a line end
    found = await _same(text.encode(), REGISTRATIONS, sizes=(len(text.encode()), 11), rows=(5000, 6))
    assert found[-1][3]  # the short record misses required cells


async def test_a_cell_longer_than_the_csv_module_reads_is_an_upload_error_either_way(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(columnar, "BLOCK_CHARS", 300_000)
    rows = _registrations(5)
    rows[2]["unit_name"] = "长" * (csv.field_size_limit() + 1)
    data = _csv(rows, FIELDS[RecordKind.registrations]).encode()
    for read in (_by_rows, _by_columns):
        with pytest.raises(UploadError, match="field larger than field limit"):
            await read(
                data, REGISTRATIONS, charset="utf-8", size=len(data), flagged=False, profile=FeedProfile(), rows=9
            )


async def test_a_profile_and_unknown_columns_read_the_same():
    rows = _registrations(10)
    fields = FIELDS[RecordKind.registrations]
    header = ["个人证件号", *fields[1:], "备注"]
    data = _csv([{**row, "备注": "x"} for row in rows], [*fields, "备注"], header=header).encode()
    profile = FeedProfile(columns={"个人证件号": "id_number"}, client_id="bureau", version=1)
    found = await _same(data, REGISTRATIONS, profile=profile)
    assert all(row is not None for _, _, row, _, _ in found)


async def test_units_and_contributions_read_the_same(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(columnar, "BLOCK_CHARS", 400)
    province = generate_province(people=30, seed=3, months=3)
    units = [dict(unit) for unit in province.units[:40]]
    units[2]["former_names"] = "旧名一；旧名二"
    units[5]["kind"] = "有限责任公司（自然人投资或控股）"
    await _same(_csv(units, FIELDS[RecordKind.units]).encode(), UNITS, rows=(5000, 3))
    contributions = [dict(row) for row in province.contributions[:120]]
    contributions[4]["period"] = "2024年1月"
    contributions[8]["insurance_type"] = "110"
    contributions[9]["period"] = "2024.1"
    await _same(_csv(contributions, FIELDS[RecordKind.contributions]).encode(), CONTRIBUTIONS, rows=(5000, 17))


async def test_a_file_of_a_header_alone_and_an_empty_file():
    header = ",".join(FIELDS[RecordKind.registrations]) + "\n"
    assert await _same(header.encode(), REGISTRATIONS) == []
    assert await _same((header + "\n ,,\n").encode(), REGISTRATIONS) == []


def test_id_numbers_taken_as_they_are_are_those_the_parser_keeps():
    rng = random.Random(7)
    tomorrow = date.today() + timedelta(days=1)
    births = ["19000101", "18991231", "20200229", "20210229", "20231301", "20230100", "00000000", "19991231"]
    births += [tomorrow.strftime("%Y%m%d"), date.today().strftime("%Y%m%d"), "20991231"]
    births += [f"{rng.randrange(1900, 2010)}{rng.randrange(1, 13):02d}{rng.randrange(1, 32):02d}" for _ in range(300)]
    values = []
    for birth in births:
        first17 = f"{rng.randrange(110000, 660000)}{birth}{rng.randrange(1000):03d}"
        number = first17 + id_check_char(first17)
        values += [number, broken_checksum(number), number.lower(), f" {number}", number[:6] + number[8:17]]
    values += ["", "X" * 18, "1" * 19, "１" * 18, "15010219900101001x", "15010219900101001Ｘ"]
    fast = id_numbers_as_they_are(pa.array(values)).to_pylist()
    for number, kept in zip(values, fast, strict=True):
        try:
            outcome = id_number_value(number)
        except FieldError:
            outcome = None
        assert kept == (type(outcome) is str and outcome == number), values.index(number)
    assert sum(fast) > 200 and not all(fast)


# Characters texts and codes are made of, the awkward ones included: padding of every kind, NUL, full-width and
# compatibility forms (ｆｕｌｌ, ①, ㈱, ﬁ), combining marks, Hangul jamo that compose.
ALPHABET = "a1-_ 蒙京張三（）()\x00\t\u3000\u00a0\x1f\u2028ｆｕｌｌ１２①㈱ﬁ\u0301e\u1100\u1161\u200b"


@pytest.mark.parametrize("parse", [text_value(5), code_text(5)])
def test_texts_and_codes_taken_as_they_are_are_those_the_parsers_keep(parse):
    rng = random.Random(3)
    values = ["", *ALPHABET, *("".join(rng.choices(ALPHABET, k=rng.randrange(1, 8))) for _ in range(3000))]
    fast = AS_THEY_ARE[parse](pa.array(values)).to_pylist()
    for text, kept in zip(values, fast, strict=True):
        try:
            outcome = parse(text)
        except FieldError:
            outcome = None
        assert kept == (outcome == text != ""), values.index(text)
    assert any(fast) and not all(fast)


def test_what_pyarrows_nfkc_keeps_pythons_keeps():
    """codes_as_they_are trusts pyarrow's NFKC where it leaves a text as it is: Python's must too."""
    characters = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
    kept = pc.equal(pc.utf8_normalize(pa.array(characters), "NFKC"), pa.array(characters)).to_pylist()
    assert [c for c, same in zip(characters, kept, strict=True) if same and unicodedata.normalize("NFKC", c) != c] == []


def test_birth_dates_and_failing_check_characters_of_a_column_are_those_of_each_number():
    rng = random.Random(11)
    numbers = []
    for _ in range(500):
        first17 = f"{rng.randrange(110000, 660000)}{rng.randrange(1900, 2020)}0{rng.randrange(1, 10)}1{rng.randrange(10)}{rng.randrange(1000):03d}"
        number = first17 + id_check_char(first17)
        numbers.append(number if rng.random() < 0.7 else broken_checksum(number))
    births, failed = id_facts(pa.array(numbers))
    assert births == [birth_date_from_id(number) for number in numbers]
    assert failed == [id_check_char(number[:17]) != number[17] for number in numbers]
    assert any(failed) and not all(failed)


def test_batched_sealing_gives_the_same_pseudonyms_and_decryptable_ids():
    for pepper in (b"pepper", b"p" * 64, b"q" * 100):
        pseudonyms = Pseudonymizer(pepper)
        ids = [f"15010219900101{n:03d}X" for n in range(50)]
        assert pseudonyms.person_keys(ids) == [pseudonyms.person_key(id_number) for id_number in ids]
    cipher = FieldCipher({"k1": b"k" * 32, "k2": b"j" * 32}, "k2")
    key_id, sealed = cipher.encrypt_many(ids)
    assert key_id == "k2"
    assert [cipher.decrypt(key_id, blob) for blob in sealed] == ids
    assert len({blob[: FieldCipher.NONCE_BYTES] for blob in sealed}) == len(ids)  # a nonce each


class _ImportSearches:
    """A finder first on `sys.meta_path` that notes every module the import system goes looking for."""

    def __init__(self) -> None:
        self.sought: list[str] = []

    def find_spec(self, name: str, *_: object) -> None:
        self.sought.append(name)


def test_converting_python_values_to_arrow_searches_for_no_module() -> None:
    """pyarrow imports dateutil, if it can, whenever it converts a Python value: a file of a few rows converts a
    few hundred. The suite installs it, so that none of them searches the import path again (a failed import is
    not remembered: ~100 µs each, most of a one-row upload's time)."""
    pa.array(["warm"])
    searches = _ImportSearches()
    sys.meta_path.insert(0, searches)
    try:
        pa.array(["110101", None])
        pc.multiply(pa.array([1, 2]), 7)
        pc.equal(pa.array(["a"]), "a")
    finally:
        sys.meta_path.remove(searches)
    assert searches.sought == []
