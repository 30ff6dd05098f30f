"""What an uploaded file is, read from its bytes (never from the name or the type the client states): only
PDF, JPEG, PNG, Word (.docx), Excel (.xlsx) and plain text are kept as evidence.

Office files are ZIP packages: the package's part names say which (`word/document.xml`,
`xl/workbook.xml`); only the central directory is read, nothing is decompressed. Text is UTF-8 (a BOM
allowed) or GB18030 (what Chinese Windows saves), without control characters besides tab and line ends.

Pure: bytes in, a media type (or None) out.
"""

from __future__ import annotations

import io
import zipfile

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT_UTF8 = "text/plain; charset=utf-8"
TEXT_GB18030 = "text/plain; charset=gb18030"

ALLOWED = "PDF, JPEG, PNG, Word (.docx), Excel (.xlsx) or plain text"
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r", "\f"}


def _office(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def _text(content: bytes) -> str | None:
    for encoding, media_type in (("utf-8-sig", TEXT_UTF8), ("gb18030", TEXT_GB18030)):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not any(ch in _CONTROL for ch in text):
            return media_type
    return None


def media_type(content: bytes) -> str | None:
    """The file's media type if it is one of those kept, else None."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"PK\x03\x04"):
        return _office(content)
    return _text(content)
