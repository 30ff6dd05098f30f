"""The CJK font the printable documents are set in, found on the machine (never fetched): `DOCUMENT_FONT`, or
the first installed of Debian's packages below. Serif (宋体-like) first: official documents are set in it.

A collection (.ttc) holds one face per language: the Simplified Chinese one is picked by its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kernel.errors import Unavailable

# (regular, bold) of Debian's CJK font packages, in the order they are preferred.
CANDIDATES: tuple[tuple[str, str | None], ...] = (
    (  # fonts-noto-cjk
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    ),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None),  # fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),  # fonts-wqy-microhei
)
INSTALL_HINT = "install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk) or set DOCUMENT_FONT"


@dataclass(frozen=True)
class Face:
    path: Path
    index: int  # the face within a collection (0 for a single font)


@dataclass(frozen=True)
class DocumentFont:
    regular: Face
    bold: Face | None


def _face(path: Path) -> Face:
    if path.suffix.lower() not in {".ttc", ".otc"}:
        return Face(path, 0)
    from fontTools.ttLib import TTCollection  # type: ignore[import-untyped]

    collection = TTCollection(str(path), lazy=True)
    try:
        for index, font in enumerate(collection.fonts):
            family = font["name"].getDebugName(1) or ""
            if family.endswith(" SC") or "SC " in family or "Simplified" in family:
                return Face(path, index)
        return Face(path, 0)
    finally:
        collection.close()


@cache
def document_font(configured: Path | None) -> DocumentFont:
    """The font to set documents in; 503 (saying what to install) when the machine has none."""
    if configured is not None:
        if not configured.is_file():
            raise Unavailable(f"DOCUMENT_FONT names no file: {INSTALL_HINT}")
        return DocumentFont(_face(configured), None)
    for regular, bold in CANDIDATES:
        if Path(regular).is_file():
            bold_face = _face(Path(bold)) if bold and Path(bold).is_file() else None
            return DocumentFont(_face(Path(regular)), bold_face)
    raise Unavailable(f"no CJK font to set documents in: {INSTALL_HINT}")
