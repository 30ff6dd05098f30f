"""Every row error of an upload, not only the receipt's first ones: spooled as they come, stored in one COPY
once the batch is decided, downloaded as CSV or .xlsx (`GET …/batches/{batch_id}/errors`).

The spool is a temporary file (memory stays flat however many rows a file gets wrong); it is copied into
`ingest_errors` in the batch's transaction after the batch's fate is known, because a batch refused whole
rolls its records back but keeps its receipt and errors. A download names each error's record, the file's
line, the column as the bureau wrote it (and its letter), the code and a message in the reader's language;
never the value, and every cell inert in a spreadsheet (kernel.spreadsheets).
"""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import IO, Any

import asyncpg
import orjson
import xlsxwriter

from ingest.messages import ERROR_COLUMNS, Language, header, render
from ingest.receipts import RowError
from kernel.spreadsheets import inert_cell

COLUMNS = ("batch_id", "seq", "row", "line", "field", "column_name", "column_number", "code", "params", "message")
_SPOOL_IN_MEMORY = 4 * 1024 * 1024  # bytes; a longer spool goes to disk
_WRITE_EVERY = 1000  # errors encoded per write to the spool
_SHEET_ROWS = 1_000_000  # an .xlsx sheet holds 1,048,576 rows: the rest continue on the next sheet
_FETCH = 2000  # errors read per round trip: between them the event loop serves other requests


class ErrorSpool:
    """The upload's errors as COPY CSV in a temporary file, in the order they were found."""

    def __init__(self, batch_id: uuid.UUID) -> None:
        self.batch_id = str(batch_id)
        self.count = 0
        self._file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by close())
        self._pending = io.StringIO()
        self._writer = csv.writer(self._pending)

    def add(self, error: RowError) -> None:
        self.count += 1
        self._writer.writerow(
            (
                self.batch_id,
                self.count,
                error.row,
                error.line,
                error.field,
                error.column,
                error.column_number,
                error.code,
                orjson.dumps(error.params).decode() if error.params else None,
                error.message,
            )
        )
        if self.count % _WRITE_EVERY == 0:
            self._drain()

    def _drain(self) -> None:
        self._file.write(self._pending.getvalue().encode())
        self._pending.seek(0)
        self._pending.truncate()

    async def store(self, pg: asyncpg.Connection) -> None:
        """Copies every spooled error into `ingest_errors` in the open transaction."""
        if not self.count:
            return
        self._drain()
        self._file.seek(0)
        await pg.copy_to_table("ingest_errors", source=self._file, columns=COLUMNS, format="csv")

    def close(self) -> None:
        self._file.close()


async def stored_errors(pg: asyncpg.Connection, batch_id: uuid.UUID) -> AsyncIterator[RowError]:
    """Every error of a batch, in file order (pg must be in a transaction: read with a cursor)."""
    query = (
        "SELECT row, line, field, column_name AS column, column_number, code, params, message "
        "FROM ingest_errors WHERE batch_id = $1 ORDER BY seq"
    )
    async for record in pg.cursor(query, batch_id, prefetch=_FETCH):
        data = dict(record)
        if isinstance(data["params"], str):  # jsonb: decoded on the service's pool, text on a bare connection
            data["params"] = orjson.loads(data["params"])
        yield RowError.model_validate(data)


def column_letter(number: int) -> str:
    """1 → A, 27 → AA: the column as a spreadsheet names it."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _cells(error: RowError, lang: Language) -> list[Any]:
    message = render(error.code, error.params, lang, field=error.field, fallback=error.message)
    cell = column_letter(error.column_number) if error.column_number else None
    values = (error.row, error.line, cell, error.column, error.field, error.code, message)
    return [inert_cell(value) if value is not None else "" for value in values]


def _headers(lang: Language) -> list[str]:
    return [header(key, lang) for key in ERROR_COLUMNS]


async def write_csv(errors: AsyncIterator[RowError], lang: Language, out: IO[bytes]) -> None:
    """UTF-8 with a BOM: Excel and WPS open it as Chinese text."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(_headers(lang))
    async for error in errors:
        writer.writerow(_cells(error, lang))
    text.flush()
    text.detach()  # `out` stays open for the response


async def write_xlsx(errors: AsyncIterator[RowError], lang: Language, out: IO[bytes]) -> None:
    """A workbook written row by row (constant memory), a sheet per million errors."""
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False})
    bold = workbook.add_format({"bold": True})
    title = "错误" if lang is Language.zh else "errors"

    def new_sheet() -> Any:
        sheet = workbook.add_worksheet(f"{title} {len(workbook.worksheets()) + 1}")
        sheet.write_row(0, 0, _headers(lang), bold)
        sheet.set_column(0, 2, 10)
        sheet.set_column(3, 6, 24)
        sheet.freeze_panes(1, 0)
        return sheet

    sheet, row = new_sheet(), 0  # a batch without errors downloads the headers alone
    async for error in errors:
        if row >= _SHEET_ROWS:
            sheet, row = new_sheet(), 0
        row += 1
        _write_row(sheet, row, _cells(error, lang))
    workbook.close()


def _write_row(sheet: Any, row: int, cells: Iterable[Any]) -> None:
    """Text as text (write_string: never read as a formula or a number), numbers as numbers."""
    for column, value in enumerate(cells):
        if isinstance(value, str):
            sheet.write_string(row, column, value)
        else:
            sheet.write_number(row, column, value)
