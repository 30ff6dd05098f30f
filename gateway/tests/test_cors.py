"""CORS for the configured origins only (CORS_ORIGINS): a dashboard's page on an allowed origin may call the API
with a bearer token and read the answer, refusals included; any other origin gets no CORS header at all; never a
wildcard, never credentials (the session cookie is the console's, on the gateway's own origin)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway_svc.settings import GatewaySettings

DASHBOARD = "https://dashboard.nm.example.gov.cn"
STRANGER = "https://evil.example.com"
FINDINGS = "/api/v1/matcher/findings"


def cors_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def preflight(origin: str, method: str = "GET", headers: str = "authorization") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


async def test_an_allowed_origins_preflight_and_request(gateway_factory, token_of) -> None:
    async with gateway_factory(cors_origins=[DASHBOARD, "http://127.0.0.1:3000"]) as gateway:
        asked = preflight(DASHBOARD, "POST", "authorization, content-type, idempotency-key, x-csrf-token")
        answer = await gateway.options("/api/v1/insurance/contributions", headers=asked, auth=None)
        assert answer.status_code == 200, answer.text
        allowed = cors_headers(answer)
        assert allowed["access-control-allow-origin"] == DASHBOARD
        assert "access-control-allow-credentials" not in allowed
        assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= set(allowed["access-control-allow-methods"].split(", "))
        sent = {h.strip().lower() for h in allowed["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "idempotency-key", "accept-language", "x-csrf-token"} <= sent
        assert allowed["access-control-max-age"] == "600"

        headers = {**await token_of(gateway, "dashboard"), "Origin": DASHBOARD}
        labels = await gateway.get("/api/v1/labels", headers=headers)
        assert labels.status_code == 200
        assert labels.headers["access-control-allow-origin"] == DASHBOARD
        exposed = {h.strip().lower() for h in labels.headers["access-control-expose-headers"].split(",")}
        assert {"retry-after", "content-disposition", "x-request-id", "etag"} <= exposed
        assert "origin" in labels.headers["vary"].lower()
        # A refusal is readable too (a dashboard must see its 401 or 429 to act on it).
        refused = await gateway.get(FINDINGS, headers={"Origin": DASHBOARD}, auth=None)
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == DASHBOARD
        # The second configured origin, exactly as configured.
        local = await gateway.options(FINDINGS, headers=preflight("http://127.0.0.1:3000"), auth=None)
        assert local.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"


async def test_another_origin_gets_no_cors_headers(gateway_factory, token_of) -> None:
    async with gateway_factory(cors_origins=[DASHBOARD]) as gateway:
        for origin in (STRANGER, DASHBOARD + ".evil.example.com", "http://dashboard.nm.example.gov.cn", "null"):
            answer = await gateway.options(FINDINGS, headers=preflight(origin), auth=None)
            assert answer.status_code == 400 and cors_headers(answer) == {}, origin  # nothing of the policy
            actual = await gateway.get(
                "/api/v1/labels", headers={**await token_of(gateway, "dashboard"), "Origin": origin}
            )
            assert actual.status_code == 200 and cors_headers(actual) == {}, origin
        # A header outside the list is refused in the preflight.
        odd = await gateway.options(FINDINGS, headers=preflight(DASHBOARD, headers="x-region-scope"), auth=None)
        assert odd.status_code == 400


async def test_no_origin_is_allowed_by_default(gateway, token_of) -> None:
    answer = await gateway.options(FINDINGS, headers=preflight(DASHBOARD), auth=None)
    assert cors_headers(answer) == {}
    actual = await gateway.get("/api/v1/labels", headers={**await token_of(gateway, "dashboard"), "Origin": DASHBOARD})
    assert actual.status_code == 200 and cors_headers(actual) == {}


@pytest.mark.parametrize(
    "origin", ["*", "https://*.example.gov.cn", "dashboard.example.gov.cn", "https://a.example.gov.cn/", "ftp://x"]
)
def test_only_explicit_origins_are_configurable(origin: str) -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        GatewaySettings(service_name="gateway", cors_origins=[origin])
    assert GatewaySettings(service_name="gateway", cors_origins=[DASHBOARD]).cors_origins == [DASHBOARD]
