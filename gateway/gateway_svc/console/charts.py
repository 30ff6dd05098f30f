"""Charts made on the server as inline SVG (no script, no style attribute: the CSP allows neither inline):
horizontal bars, and the regions one level down — on their outline map where the division has one vendored
(console/atlas/, `suite atlas vendor`: the two campaign provinces and their cities, and the provinces), as a
labelled tile grid elsewhere — each linking one level down (drill-down).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape

ATLAS = Path(__file__).parent / "atlas"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    href: str | None = None


def bars(items: list[Bar], *, width: int = 560, row: int = 26, label_width: int = 210, title: str = "") -> Markup:
    """One bar per item, scaled to the largest, its value written at its end."""
    if not items:
        return Markup('<p class="hint">暂无数据。</p>')
    top = max(item.value for item in items) or 1
    span = width - label_width - 60
    height = row * len(items) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">']
    for i, item in enumerate(items):
        y = i * row + 2
        length = round(span * item.value / top) if item.value else 0
        text = (
            f'<text x="{label_width - 8}" y="{y + row * 0.62:.1f}" text-anchor="end" class="chart-label">'
            f"{escape(item.label)}</text>"
            f'<rect x="{label_width}" y="{y + 4}" width="{max(length, 1)}" height="{row - 10}" '
            f'class="chart-bar{" zero" if not item.value else ""}"/>'
            f'<text x="{label_width + length + 6}" y="{y + row * 0.62:.1f}" class="chart-value">{item.value}</text>'
        )
        if item.href:
            text = f'<a href="{escape(item.href)}">{text}</a>'
        parts.append(text)
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    value: int
    href: str | None = None


def tiles(items: list[Tile], *, columns: int = 6, title: str = "") -> Markup:
    """A labelled tile grid: one tile per region, shaded by its value (five steps), linking one level down."""
    if not items:
        return Markup('<p class="hint">暂无下级区划数据。</p>')
    top = max(item.value for item in items) or 1
    size, gap = 104, 6
    rows = -(-len(items) // columns)
    width, height = columns * (size + gap), rows * (64 + gap)
    parts = [f'<svg class="tiles" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">']
    for i, item in enumerate(items):
        x, y = (i % columns) * (size + gap), (i // columns) * (64 + gap)
        step = _step(item.value, top)
        tile = (
            f'<rect x="{x}" y="{y}" width="{size}" height="64" rx="6" class="tile tile-{step}"/>'
            f'<text x="{x + size / 2}" y="{y + 26}" text-anchor="middle" class="tile-name">{escape(item.name[:7])}</text>'
            f'<text x="{x + size / 2}" y="{y + 48}" text-anchor="middle" class="tile-value">{item.value}</text>'
        )
        if item.href:
            tile = f'<a href="{escape(item.href)}" aria-label="{escape(item.name)}">{tile}</a>'
        parts.append(tile)
    parts.append("</svg>")
    return Markup("".join(parts) + '<p class="hint">区划图为示意方格图（非地理边界）。</p>')


def _step(value: int, top: int) -> int:
    """The shade of a value: 0 for none, then four steps up to the largest value shown."""
    return 0 if not value else 1 + min(3, int(4 * value / (top + 1)))


def _legend(top: int) -> Markup:
    """The steps' value ranges, each with its shade (an HTML list beside the drawing, classes only)."""
    ranges = [(0, 0)]
    for step in range(1, 5):
        low = max(1, -(-(step - 1) * (top + 1) // 4))
        high = top if step == 4 else -(-step * (top + 1) // 4) - 1
        if low <= high:
            ranges.append((low, high))
    items = "".join(
        f'<li><span class="swatch step-{0 if high == 0 else _step(high, top)}"></span>'
        f"{low if low == high else f'{low}–{high}'}</li>"
        for low, high in ranges
    )
    return Markup(f'<ul class="legend" aria-label="图例（人数）">{items}</ul>')


@dataclass(frozen=True)
class Shape:
    """One division's outline in its map's frame (SVG path data), where its label goes, and its area."""

    name: str
    d: str
    label: tuple[int, int]
    area: int


@dataclass(frozen=True)
class Outlines:
    """The outlines of the divisions right under `code` (console/atlas/<code>.json)."""

    code: str
    width: int
    height: int
    regions: dict[str, Shape]
    extras: str  # drawn without a value: the 南海诸岛 inset of the national map
    source: str


@cache
def outlines(code: str) -> Outlines | None:
    """The vendored outlines of the divisions under `code`, or None where there are none (a county, a
    province not vendored): that level is drawn as tiles."""
    file = ATLAS / f"{code}.json"
    if not re.fullmatch(r"\d{6}", code) or not file.is_file():
        return None
    data = json.loads(file.read_text(encoding="utf-8"))
    regions = {
        c: Shape(r["name"], r["d"], (r["label"][0], r["label"][1]), r["area"]) for c, r in data["regions"].items()
    }
    return Outlines(code, data["width"], data["height"], regions, data.get("extras", ""), data["source"])


LABEL_AREA = 6000  # a division at least this large (in the frame's units², of 1000²) is labelled on the map


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def region_map(items: list[Tile], parent: str, *, title: str = "") -> Markup:
    """The regions under `parent` on their outline map: each a path shaded by its value (five steps, with a
    legend), its name and value as its title, linking as its tile would; name and value written on those large
    enough. Regions without an outline are listed under the map; without outlines at all, the tile grid."""
    shapes = outlines(parent)
    drawn = {item.code: item for item in items if shapes is not None and item.code in shapes.regions}
    if shapes is None or not drawn:
        return tiles(items, title=title)
    top = max(item.value for item in items) or 1
    parts = [
        f'<svg class="atlas" viewBox="0 0 {shapes.width} {shapes.height}" width="100%" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    labels: list[str] = []
    placed: list[tuple[int, int, int, int]] = []  # the labels' boxes: a label that would cover another is left out
    # Largest first: a division lying inside another (a city's districts) is drawn over it.
    for code, shape in sorted(shapes.regions.items(), key=lambda pair: -pair[1].area):
        item = drawn.get(code)
        if item is None:  # on the map but not among the regions shown: drawn as ground, without a value
            parts.append(f'<path d="{shape.d}" class="area outside"/>')
            continue
        words = f"{item.name}：{item.value}"
        area = f'<path d="{shape.d}" class="area step-{_step(item.value, top)}"><title>{escape(words)}</title></path>'
        if item.href:
            area = f'<a href="{escape(item.href)}" aria-label="{escape(words)}">{area}</a>'
        parts.append(area)
        x, y = shape.label
        box = (x - 11 * len(item.name[:7]) - 4, y - 24, x + 11 * len(item.name[:7]) + 4, y + 32)
        if shape.area >= LABEL_AREA and not any(_overlap(box, other) for other in placed):
            placed.append(box)
            dark = " on-dark" if _step(item.value, top) >= 3 else ""
            labels.append(
                f'<text x="{x}" y="{y}" text-anchor="middle" class="area-name{dark}">{escape(item.name[:7])}</text>'
                f'<text x="{x}" y="{y + 26}" text-anchor="middle" class="area-value{dark}">{item.value}</text>'
            )
    if shapes.extras:
        parts.append(f'<path d="{shapes.extras}" class="area-extra"/>')
    parts += labels
    parts.append("</svg>")
    missing = [item for item in items if item.code not in drawn and item.value]
    if missing:
        links = "、".join(
            f'<a href="{escape(item.href)}">{escape(item.name)}</a> {item.value}' if item.href else
            f"{escape(item.name)} {item.value}"
            for item in missing
        )  # fmt: skip
        parts.append(f'<p class="hint" id="map-missing">图中未绘出：{links}</p>')
    parts.append(_legend(top))
    parts.append(f'<p class="hint map-source">区划边界示意（{escape(shapes.source)}），非测绘边界。</p>')
    return Markup("".join(parts))
