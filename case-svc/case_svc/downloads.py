"""Files case-svc hands out (attachments, documents, report tables): their Content-Disposition, with the file
name encoded so that no name — an uploader's included — can break or forge the header."""

from __future__ import annotations

import re
from urllib.parse import quote

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def content_disposition(filename: str, *, inline: bool = False, fallback: str = "download") -> str:
    """RFC 6266 / 8187: `filename*` carries the name (UTF-8, percent-encoded) for browsers; `filename` an ASCII
    stand-in (letters, digits, `._-`, the rest as `_`; `fallback` and the extension when nothing is left of
    the name) for the others. Neither can hold a quote, a semicolon or a line break."""
    name = _CONTROL.sub("", filename) or fallback
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    ascii_stem = _UNSAFE_ASCII.sub("_", stem).strip("_.") or fallback
    ascii_extension = _UNSAFE_ASCII.sub("", extension)
    ascii_name = ascii_stem + (f".{ascii_extension}" if ascii_extension else "")
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def uploaded_name(filename: str | None) -> str:
    """The last path component of an uploaded file's name, without control characters, at most 200 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _CONTROL.sub("", name).strip()
    return name[-200:] or "attachment"
