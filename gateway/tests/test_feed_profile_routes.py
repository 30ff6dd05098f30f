"""The routes of feed clients' profiles: a province administrator's, forwarded as they are to the data
service that reads the feed; a feed client or an officer is refused at the gateway."""

from __future__ import annotations

SERVICES = {"registry": "registrations", "insurance": "contributions", "fund": "deposits"}


async def test_profile_routes_are_the_province_administrators(gateway_factory, token_of, recorder) -> None:
    for service, feed in SERVICES.items():
        path = f"/api/v1/{service}/feeds/{feed}/profiles/hohhot-{service}-feed"
        recorder.answers[path] = {"version": 1}
        recorder.answers[f"{path}/versions"] = {"items": [], "next_cursor": None}
    urls = {f"{service}_url": recorder.url for service in SERVICES}
    async with gateway_factory(**urls) as gateway:
        admin = await token_of(gateway, "admin")
        fund_feed = await token_of(gateway, "fund-feed")
        hohhot = await token_of(gateway, "hohhot")
        for service, feed in SERVICES.items():
            path = f"/api/v1/{service}/feeds/{feed}/profiles/hohhot-{service}-feed"
            put = await gateway.put(path, json={"columns": {"单位全称": "unit_name"}}, headers=admin)
            assert put.status_code == 200, put.text
            assert (await gateway.get(path, headers=admin)).json() == {"version": 1}
            assert (await gateway.get(f"{path}/versions", headers=admin)).status_code == 200
            for caller in (fund_feed, hohhot):
                refused = await gateway.put(path, json={}, headers=caller)
                assert refused.status_code == 403 and "campaign:admin" in refused.text
        assert (
            await gateway.delete("/api/v1/fund/feeds/deposits/profiles/hohhot-fund-feed", headers=admin)
        ).status_code == 404
    forwarded = [(method, path) for method, path, _ in recorder.requests]
    assert forwarded == [
        (method, f"/api/v1/{service}/feeds/{feed}/profiles/hohhot-{service}-feed{tail}")
        for service, feed in SERVICES.items()
        for method, tail in (("PUT", ""), ("GET", ""), ("GET", "/versions"))
    ]
