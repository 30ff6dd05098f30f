"""The feeds' freshness through the gateway (`GET /api/v1/{registry,insurance,fund}/feeds/freshness`): for whoever
reads the summary tables (`reports:read`: officers of every level, province administrators, dashboards),
forwarded with its query to the data service, which applies the caller's regions; a feed client is refused at
the gateway, and nothing below the path is routed."""

from __future__ import annotations

from gateway_svc.roles import Scope
from gateway_svc.routing import match

SERVICES = ("registry", "insurance", "fund")
PAGE = {
    "items": [
        {
            "feed": "registrations",
            "client_id": "demo-registry-feed",
            "region_code": "150102",
            "batch_id": "b2e4f6a8-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
            "status": "accepted",
            "received_at": "2024-11-02T10:20:31+08:00",
            "rows": 31,
            "batch_rows": 400,
        }
    ],
    "next_cursor": None,
}


def test_the_route_table_names_the_reports_scope() -> None:
    for service in SERVICES:
        found = match("GET", f"/api/v1/{service}/feeds/freshness")
        assert found is not None and (found.service, found.scope) == (service, Scope.reports_read)
        assert found.upstream_path == f"/api/v1/{service}/feeds/freshness"
        assert match("POST", f"/api/v1/{service}/feeds/freshness") is None
        assert match("GET", f"/api/v1/{service}/feeds/freshness/x") is None
    assert match("GET", "/api/v1/matcher/feeds/freshness") is None


async def test_officers_and_dashboards_read_it_feed_clients_do_not(gateway_factory, token_of, recorder) -> None:
    for service in SERVICES:
        recorder.answers[f"/api/v1/{service}/feeds/freshness"] = PAGE
    async with gateway_factory(**{f"{service}_url": recorder.url for service in SERVICES}) as gateway:
        readers = [await token_of(gateway, name) for name in ("hohhot-county", "hohhot", "admin", "dashboard")]
        feed = await token_of(gateway, "insurance-feed")
        for service in SERVICES:
            path = f"/api/v1/{service}/feeds/freshness"
            for reader in readers:
                answer = await gateway.get(path, params={"region_code": "150000"}, headers=reader)
                assert answer.status_code == 200 and answer.json() == PAGE, answer.text
            refused = await gateway.get(path, headers=feed)
            assert refused.status_code == 403 and "reports:read" in refused.text
    forwarded = [(method, path) for method, path, _ in recorder.requests]
    assert forwarded == [("GET", f"/api/v1/{s}/feeds/freshness") for s in SERVICES for _ in range(4)]
