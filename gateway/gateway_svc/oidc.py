"""Sign-in through the province's identity provider (OpenID Connect), when a deployment sets OIDC_ISSUER.

The authorization-code flow with PKCE (S256), `state` and `nonce` (Authlib's OAuth2 client makes the request;
the state is kept here only hashed, with the nonce and the verifier, for ten minutes and one use); the code is
exchanged at the provider's token endpoint and its ID token verified with joserfc (Authlib's JOSE library)
against the provider's published keys: signature, issuer, audience, expiry, issue time and nonce. The
provider's `sub` then names an account: only accounts provisioned with that `oidc_subject` sign in this way —
claims never make or widen an account.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import asyncpg
import httpx
from authlib.common.security import generate_token
from authlib.oauth2.client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway_svc.accounts import own_transaction
from gateway_svc.settings import GatewaySettings
from kernel.db import Database

LOGIN_TTL_SECONDS = 600
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]
_DISCOVERY_TTL = 3600.0
_discovered: dict[str, tuple[float, dict[str, Any], KeySet]] = {}


class OidcRefused(Exception):
    """The provider's answer is not a sign-in we accept; `reason` goes to the sign-in page and the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def provider(settings: GatewaySettings, http: httpx.AsyncClient) -> tuple[dict[str, Any], KeySet]:
    """The provider's discovery document and keys (cached an hour; its keys read again on an unknown `kid`)."""
    issuer = (settings.oidc_issuer or "").rstrip("/")
    cached = _discovered.get(issuer)
    if cached and time.monotonic() - cached[0] < _DISCOVERY_TTL:
        return cached[1], cached[2]
    try:
        metadata = (await http.get(f"{issuer}/.well-known/openid-configuration", timeout=10)).raise_for_status().json()
        if metadata.get("issuer", "").rstrip("/") != issuer:
            raise OidcRefused("issuer_mismatch")
        keys = KeySet.import_key_set((await http.get(metadata["jwks_uri"], timeout=10)).raise_for_status().json())
    except (httpx.HTTPError, ValueError, KeyError):
        raise OidcRefused("provider_unavailable") from None
    _discovered[issuer] = (time.monotonic(), metadata, keys)
    return metadata, keys


def _client(settings: GatewaySettings) -> OAuth2Client:
    return OAuth2Client(
        session=None,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value() or None,
        redirect_uri=settings.oidc_redirect_url,
        scope=settings.oidc_scope,
        code_challenge_method="S256",
    )


async def authorization_url(
    pg: asyncpg.Connection, settings: GatewaySettings, http: httpx.AsyncClient, *, return_to: str
) -> str:
    metadata, _ = await provider(settings, http)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    url, _ = _client(settings).create_authorization_url(
        metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
    )
    await pg.execute("DELETE FROM oidc_logins WHERE created_at < now() - make_interval(secs => $1)", LOGIN_TTL_SECONDS)
    await pg.execute(
        "INSERT INTO oidc_logins (state_hash, nonce, code_verifier, return_to) VALUES ($1, $2, $3, $4)",
        _hash(state),
        nonce,
        verifier,
        return_to,
    )
    return url


async def complete(
    db: Database, settings: GatewaySettings, http: httpx.AsyncClient, params: dict[str, str]
) -> tuple[str, str]:
    """The provider's subject of a completed sign-in and where the person was going; OidcRefused otherwise."""
    if "error" in params:
        raise OidcRefused("denied")
    state, code = params.get("state"), params.get("code")
    if not state or not code:
        raise OidcRefused("bad_response")
    async with own_transaction(db) as pg:  # one use: taken whatever follows
        login = await pg.fetchrow(
            "DELETE FROM oidc_logins WHERE state_hash = $1 AND created_at > now() - make_interval(secs => $2) "
            "RETURNING nonce, code_verifier, return_to",
            _hash(state),
            LOGIN_TTL_SECONDS,
        )
    if login is None:
        raise OidcRefused("state")
    metadata, keys = await provider(settings, http)
    secret = settings.oidc_client_secret.get_secret_value()
    # client_secret_basic with a secret; a public client (PKCE only) names itself in the form.
    auth: httpx.Auth | httpx._client.UseClientDefault = (
        httpx.BasicAuth(settings.oidc_client_id, secret) if secret else httpx.USE_CLIENT_DEFAULT
    )
    try:
        response = await http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": settings.oidc_redirect_url,
                "code_verifier": login["code_verifier"],
                **({} if secret else {"client_id": settings.oidc_client_id}),
            },
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=15,
        )
        tokens = response.raise_for_status().json()
        id_token = tokens["id_token"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        raise OidcRefused("token_exchange") from None
    claims = _verified_claims(settings, keys, id_token, login["nonce"])
    return str(claims["sub"]), login["return_to"]


def _verified_claims(settings: GatewaySettings, keys: KeySet, id_token: str, nonce: str) -> dict[str, Any]:
    issuer = (settings.oidc_issuer or "").rstrip("/")
    try:
        token = jwt.decode(id_token, keys, algorithms=_ALGORITHMS)
        registry = jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "values": [issuer, issuer + "/"]},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError, KeyError):
        raise OidcRefused("id_token") from None
    audience = token.claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.oidc_client_id not in audiences:
        raise OidcRefused("id_token")
    if len(audiences) > 1 and token.claims.get("azp") != settings.oidc_client_id:
        raise OidcRefused("id_token")
    return dict(token.claims)
