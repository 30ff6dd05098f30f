"""Charts made on the server as inline SVG (no script, no style attribute: the CSP allows neither inline):
horizontal bars, and a labelled tile grid of regions that links each tile one level down (drill-down).

The region map is a tile grid, not outlines: no division outline data under a licence the suite can ship was
vendored (see gateway/README.md); every level — province, city, county — is drawn the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape


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
        step = 0 if not item.value else 1 + min(3, int(4 * item.value / (top + 1)))
        tile = (
            f'<rect x="{x}" y="{y}" width="{size}" height="64" rx="6" class="tile tile-{step}"/>'
            f'<text x="{x + size / 2}" y="{y + 26}" text-anchor="middle" class="tile-name">{escape(item.name[:7])}</text>'
            f'<text x="{x + size / 2}" y="{y + 48}" text-anchor="middle" class="tile-value">{item.value}</text>'
        )
        if item.href:
            tile = f'<a href="{escape(item.href)}" aria-label="{escape(item.name)}">{tile}</a>'
        parts.append(tile)
    parts.append("</svg>")
    return Markup("".join(parts))
