"""Sign-in through an identity provider (OpenID Connect): a real provider process (oidc-provider-mock, a Flask
server on a thread of this test), the authorization-code flow with PKCE, state and nonce, and only accounts
provisioned with the provider's subject may sign in; the ID token's signature and claims are checked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from people_helpers import ORIGIN

from gateway_svc import oidc
from gateway_svc.roles import Role
from gateway_svc.settings import GatewaySettings

# The provider (a test tool) still calls Authlib's older interfaces; its warnings are not ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib.oidc.core.grants._legacy"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated"),
]

CLIENT_ID = "guazheng-console"
CALLBACK = f"{ORIGIN}/api/v1/auth/oidc/callback"


@pytest.fixture
def provider() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def _settings(provider: str) -> dict[str, object]:
    return {
        "oidc_issuer": provider,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": "provider-issued-secret",
        "oidc_redirect_url": CALLBACK,
    }


async def _through_the_provider(browser: httpx.AsyncClient, subject: str) -> httpx.Response:
    """What a person's browser does: to the provider, sign in there as `subject`, back to the callback."""
    start = await browser.get("/api/v1/auth/oidc/login")
    assert start.status_code == 303
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["nonce"][0] and query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    async with httpx.AsyncClient() as outside:  # the provider's own sign-in form
        answered = await outside.post(authorize, data={"sub": subject})
    assert answered.status_code == 302, answered.text
    back = urlsplit(answered.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return await browser.get(f"{back.path}?{back.query}")


async def test_a_provisioned_subject_signs_in_and_others_do_not(site_factory, provider) -> None:
    async with site_factory(**_settings(provider)) as site:
        await site.account(
            "hohhot-wang", Role.city_officer, ["150100"], password=None, oidc_subject="wang.jianjun@nmzjt.gov.cn"
        )
        async with site.browser() as browser:
            signed_in = await _through_the_provider(browser, "wang.jianjun@nmzjt.gov.cn")
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/"
            assert "guazheng_session=" in signed_in.headers["set-cookie"]
            me = (await browser.get("/api/v1/auth/me")).json()
            assert me["kind"] == "person" and me["username"] == "hohhot-wang"
            [row] = await site.sql("SELECT via FROM sessions")
            assert row["via"] == "oidc"
        async with site.browser() as stranger:
            refused = await _through_the_provider(stranger, "someone.else@nmzjt.gov.cn")
            assert refused.status_code == 303 and refused.headers["location"] == "/console/login?error=oidc_no_account"
            assert "set-cookie" not in refused.headers
            assert (await stranger.get("/api/v1/auth/me")).status_code == 401
        # An account without a password cannot sign in with one.
        async with site.browser() as browser:
            by_password = await browser.post(
                "/api/v1/auth/session", json={"username": "hohhot-wang", "password": "Anything-at-all-1"}
            )
            assert by_password.status_code == 401


async def test_a_state_is_good_once_and_only_from_this_gateway(site_factory, provider) -> None:
    async with site_factory(**_settings(provider)) as site:
        await site.account("hohhot-wang", Role.city_officer, ["150100"], password=None, oidc_subject="wang")
        async with site.browser() as browser:
            start = await browser.get("/api/v1/auth/oidc/login")
            async with httpx.AsyncClient() as outside:
                answered = await outside.post(start.headers["location"], data={"sub": "wang"})
            back = urlsplit(answered.headers["location"])
            first = await browser.get(f"{back.path}?{back.query}")
            assert first.headers["location"] == "/console/"
            replayed = await browser.get(f"{back.path}?{back.query}")
            assert replayed.headers["location"] == "/console/login?error=oidc_state"
            made_up = await browser.get("/api/v1/auth/oidc/callback", params={"code": "x", "state": "not-ours"})
            assert made_up.headers["location"] == "/console/login?error=oidc_state"
            denied = await browser.get("/api/v1/auth/oidc/callback", params={"error": "access_denied"})
            assert denied.headers["location"] == "/console/login?error=oidc_denied"


async def test_off_unless_configured(site) -> None:
    async with site.browser() as browser:
        assert (await browser.get("/api/v1/auth/oidc/login")).status_code == 404
        page = await browser.get("/console/login")
        assert "统一身份认证" not in page.text


def _token(key: RSAKey, **claims: object) -> str:
    now = int(time.time())
    base = {"iss": "https://idp.nm.gov.cn", "aud": CLIENT_ID, "sub": "wang", "iat": now, "exp": now + 300,
            "nonce": "n-1"}  # fmt: skip
    return jwt.encode({"alg": "RS256", "kid": key.kid}, {**base, **claims}, key)


@pytest.mark.parametrize(
    "claims",
    [
        {"nonce": "another"},
        {"aud": "another-client"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 120},
        {"sub": None},
        {"aud": [CLIENT_ID, "another-client"]},  # several audiences without azp naming us
    ],
    ids=["nonce", "audience", "issuer", "expired", "no-subject", "azp"],
)
def test_an_id_token_is_refused_unless_every_claim_holds(claims) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    keys = KeySet([key])
    settings = GatewaySettings(
        oidc_issuer="https://idp.nm.gov.cn", oidc_client_id=CLIENT_ID, oidc_redirect_url=CALLBACK
    )
    assert oidc._verified_claims(settings, keys, _token(key), "n-1")["sub"] == "wang"
    bad = _token(key, **{k: v for k, v in claims.items() if v is not None})
    if claims.get("sub", "") is None:
        now = int(time.time())
        bad = jwt.encode(
            {"alg": "RS256", "kid": "k1"},
            {"iss": "https://idp.nm.gov.cn", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": "n-1"},
            key,
        )
    with pytest.raises(oidc.OidcRefused):
        oidc._verified_claims(settings, keys, bad, "n-1")
    other_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(oidc.OidcRefused):  # signed by someone else under our key's id
        oidc._verified_claims(settings, keys, _token(other_key), "n-1")
