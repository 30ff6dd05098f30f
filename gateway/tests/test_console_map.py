"""概览's region map and its feeds' freshness: the vendored outlines (console/atlas/, `suite atlas vendor`) keyed by
the national list's codes; the map drawn as inline SVG (a path per region, shaded in steps with a legend, its name
and value as its title, linking one level down; no script, no style attribute), the tile grid where a level has
no outlines; and the page itself, in-process against stand-in services, drilling province → city → county with
outlines and showing each bureau's latest batch and the lower levels that have sent nothing (催报)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from people_helpers import PASSWORD

from devtools.embedded import free_port
from devtools.testing import serving
from gateway_svc.console import charts
from gateway_svc.console.charts import Tile
from gateway_svc.roles import Role
from kernel.regions import divisions

IN_USE = {d.code: d for d in divisions() if d.in_use}
PATH_DATA = re.compile(r"^(M\d+ \d+l-?\d+(?:[ -]\d+)*z)+$")


def _under(code: str) -> set[str]:
    if code == "000000":
        return {c for c, d in IN_USE.items() if d.level == "province"}
    return {c for c, d in IN_USE.items() if d.parent == code}


def test_the_vendored_outlines_are_the_divisions_under_each_code() -> None:
    files = sorted(charts.ATLAS.glob("*.json"))
    names = {f.stem for f in files}
    cities = _under("150000") | _under("230000")
    assert {"150000", "230000"} | cities <= names  # both campaign provinces down to their counties
    assert sum(f.stat().st_size for f in files) < 1_500_000
    notice = (charts.ATLAS / "NOTICE").read_text(encoding="utf-8")
    assert "Apache License, Version 2.0" in notice and "MIT License" in notice
    for code in sorted(names):
        shapes = charts.outlines(code)
        assert shapes is not None and shapes.width <= 1001 and shapes.height <= 1001
        assert set(shapes.regions) <= _under(code), code  # only the list's codes, each under its parent
        for region, shape in shapes.regions.items():
            assert PATH_DATA.match(shape.d), region
            assert 0 <= shape.label[0] <= shapes.width and 0 <= shape.label[1] <= shapes.height
    # Every division of the two provinces has its outline (伊春's 2019 districts from the ones they replaced).
    for code in ("150000", "230000", *sorted(cities)):
        assert set(charts.outlines(code).regions) == _under(code), code  # type: ignore[union-attr]
    # No national map: one published in China needs a 审图号 (地图管理条例); the country is drawn as tiles.
    assert "000000" not in names and charts.outlines("000000") is None


def _tiles(codes: list[str], value=lambda i: i * 3) -> list[Tile]:
    return [Tile(code, IN_USE[code].name, value(i), f"/console/?region={code}") for i, code in enumerate(codes)]


def test_a_province_is_drawn_with_outlines_linking_one_level_down() -> None:
    cities = sorted(_under("150000"))
    html = str(charts.region_map(_tiles(cities), "150000", title="内蒙古自治区下级区划疑似问题人数"))
    assert html.startswith('<svg class="atlas"') and "示意方格图" not in html
    assert "style=" not in html and "<script" not in html
    areas = re.findall(r'<a href="([^"]+)" aria-label="([^"]+)"><path d="[^"]+" class="area step-(\d)">', html)
    assert sorted(href for href, _, _ in areas) == [f"/console/?region={c}" for c in cities]
    assert ("/console/?region=150100", "呼和浩特市：0", "0") in areas
    top = max(i * 3 for i in range(len(cities)))
    assert (f"/console/?region={cities[-1]}", f"{IN_USE[cities[-1]].name}：{top}", "4") in areas
    assert len(re.findall(r"<title>[^<]+：\d+</title>", html)) == len(cities)
    assert 'class="legend"' in html and html.count('class="swatch step-') == 5
    assert 'class="area-name' in html  # the large ones are labelled
    assert "Apache" in html  # where the outlines come from


def test_a_city_links_its_counties_and_a_county_falls_back_to_tiles() -> None:
    counties = sorted(_under("150100"))
    findings = [Tile(c, IN_USE[c].name, 1, f"/console/findings?region_code={c}") for c in counties]
    html = str(charts.region_map(findings, "150100"))
    assert len(re.findall(r'<a href="/console/findings\?region_code=\d{6}"', html)) == len(counties) == 9
    # Regions without an outline (a code the data still carries) are listed under the map, not lost.
    stray = [*findings, Tile("150101", "市辖区", 2, "/console/findings?region_code=150101")]
    assert 'id="map-missing"' in str(charts.region_map(stray, "150100"))
    # No outlines for the level: the tile grid, with its caption; none for a province not vendored either.
    for parent, items in (("150102", findings[:1]), ("110000", _tiles(sorted(_under("110000"))))):
        fallback = str(charts.region_map(items, parent))
        assert fallback.startswith('<svg class="tiles"') and "示意方格图" in fallback, parent
    assert "暂无下级区划数据" in str(charts.region_map([], "150000"))


# --- the page, against stand-in services -------------------------------------------------------------------

NOW = datetime.now(UTC)


def _freshness(service: str, region_code: str) -> list[dict[str, Any]]:
    """What the data services would answer: Hohhot's districts sent everything lately; Baotou's 住建 data is
    two months old and its 社保 never came; 公积金 covers Hohhot only."""
    rows = []
    feeds = {"registry": ["registrations"], "insurance": ["contributions"], "fund": ["deposits"]}[service]
    for feed in feeds:
        for region, age in (("150102", 1), ("150103", 2), ("150203", 62)):
            if (service == "insurance" and region == "150203") or (service == "fund" and region == "150203"):
                continue
            rows.append({
                "feed": feed, "client_id": f"nm-{service}-feed", "region_code": region,
                "batch_id": f"00000000-0000-4000-8000-0000000{age:05d}", "status": "accepted",
                "received_at": (NOW - timedelta(days=age)).isoformat(), "rows": 10, "batch_rows": 30,
            })  # fmt: skip
    prefix = region_code.rstrip("0")
    return [
        r
        for r in rows
        if region_code == "000000" or str(r["region_code"]).startswith(prefix[: len(prefix) + len(prefix) % 2])
    ]


@asynccontextmanager
async def stand_in() -> AsyncIterator[str]:
    """Every service the overview reads, answering as the real ones would for a small province."""
    app = FastAPI()

    @app.get("/api/v1/reports/summary")
    async def summary(request: Request) -> dict[str, Any]:
        region = request.query_params["region_code"]
        below = sorted(_under(region)) if region.endswith("00") else []
        return {"rows": [{"region_code": c, "rule_SI_NONE": i % 4} for i, c in enumerate(below)]}

    @app.get("/api/v1/{service}/feeds/freshness")
    async def freshness(service: str, request: Request) -> dict[str, Any]:
        return {"items": _freshness(service, request.query_params.get("region_code", "000000")), "next_cursor": None}

    @app.get("/api/v1/{path:path}")
    async def empty(path: str) -> dict[str, Any]:
        return {"items": [], "next_cursor": None, "counts": {}}

    port = free_port()
    async with serving(app, port):
        yield f"http://127.0.0.1:{port}"


async def test_the_overview_drills_down_with_outlines_and_shows_freshness(site_factory) -> None:
    async with stand_in() as url:
        urls = {f"{name}_url": url for name in ("registry", "insurance", "fund", "matcher", "case")}
        async with site_factory(**urls) as site:
            await site.account("nm-wang", Role.province_admin, ["150000"])
            async with site.browser() as browser:
                signed = await browser.post("/api/v1/auth/session", json={"username": "nm-wang", "password": PASSWORD})
                assert signed.status_code == 200, signed.text
                province = (await browser.get("/console/")).text
                assert '<svg class="atlas"' in province and "示意方格图" not in province
                assert 'href="/console/?region=150100"' in province and 'href="/console/?region=152900"' in province
                city = (await browser.get("/console/?region=150100")).text
                assert '<svg class="atlas"' in city and 'id="region-up"' in city
                counties = re.findall(r'<a href="/console/findings\?region_code=(\d{6})"', city)
                assert sorted(counties) == sorted(_under("150100"))
                county = (await browser.get("/console/?region=150102")).text
                assert '<svg class="atlas"' not in county and 'id="freshness"' in county

                # 数据新鲜度: each bureau's latest batch; Baotou's 住建 data alone would be stale, but Hohhot's is new.
                table = province[province.index('id="freshness-table"') :]
                table = table[: table.index("</table>")]
                assert table.count("<tr") == 4  # the header and one row per bureau and feed
                assert "nm-registry-feed" in table and "注册人员" in table and 'class="stale"' not in table
                # 催报: Hohhot has everything; Baotou lacks 社保 and 公积金 and its 住建 data is over 31 days old.
                behind = province[province.index('id="not-reported-table"') :]
                behind = behind[: behind.index("</table>")]
                assert "包头市" in behind and "呼和浩特市" not in behind and "未报送" in behind
                assert "超过 31 天" in behind
                assert "“已报送”指近 31 天内" in province
                # In Baotou alone its 住建 bureau's latest batch is the stale one.
                baotou = (await browser.get("/console/?region=150200")).text
                rows = baotou[baotou.index('id="freshness-table"') :]
                assert '<tr class="stale">' in rows[: rows.index("</table>")]
