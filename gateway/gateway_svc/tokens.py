"""Access tokens: signed JWTs (PyJWT, HS256) with issuer, audience, expiry, scopes and regions.

Verification names its one algorithm explicitly, so `alg: none` and any other algorithm are refused,
and requires every claim the gateway relies on.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from gateway_svc.clients import Client
from gateway_svc.roles import Scope
from gateway_svc.settings import GatewaySettings
from kernel.credentials import CallerKind

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti", "sub", "scope", "regions", "role"]


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired, or not ours (the reason stays in our logs)."""


@dataclass(frozen=True)
class Caller:
    """Who is calling, as their verified token (a client) or session (a person, sessions.py) says."""

    client_id: str  # a client's id, or a person's username
    role: str
    scopes: frozenset[str]
    regions: tuple[str, ...]
    token_id: str  # the token's jti; for a person, a digest of the session
    kind: CallerKind = CallerKind.client
    acts_for: str | None = None  # a bureau's person: the feed client they upload for

    @property
    def principal(self) -> str:
        """Whose batches these are: the feed client a person acts for, or the caller itself."""
        return self.acts_for or self.client_id

    @property
    def is_person(self) -> bool:
        return self.kind is CallerKind.person

    @property
    def region_scope(self) -> str:
        return ",".join(self.regions)

    def holds(self, scope: Scope) -> bool:
        return scope.value in self.scopes


def issue(settings: GatewaySettings, client: Client, scopes: frozenset[Scope]) -> tuple[str, int]:
    """A signed token for `client` with `scopes`; and its lifetime in seconds."""
    now = int(time.time())
    claims = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "iat": now,
        "nbf": now,
        "exp": now + settings.token_ttl_seconds,
        "jti": uuid.uuid4().hex,
        "sub": client.client_id,
        "role": client.role.value,
        "scope": " ".join(sorted(s.value for s in scopes)),
        "regions": client.region_scope.split(","),
    }
    token = jwt.encode(claims, settings.token_signing_key.get_secret_value(), algorithm=ALGORITHM)
    return token, settings.token_ttl_seconds


def verify(settings: GatewaySettings, token: str) -> Caller:
    try:
        claims = jwt.decode(
            token,
            settings.token_signing_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            options={"require": REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None
    regions = claims["regions"]
    if not isinstance(regions, list) or not regions or not all(isinstance(r, str) for r in regions):
        raise InvalidToken("regions claim malformed")
    return Caller(
        client_id=str(claims["sub"]),
        role=str(claims["role"]),
        scopes=frozenset(str(claims["scope"]).split()),
        regions=tuple(regions),
        token_id=str(claims["jti"]),
    )
