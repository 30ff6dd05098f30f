"""Who is calling a service, proven by a short-lived credential the service verifies — never by a header
it would have to take on trust (zero trust inside the suite, docs/domain.md §8).

Two kinds of credential travel as `Authorization: Bearer …`:

- a **caller credential**, signed by the gateway with an Ed25519 key only the gateway holds, stating
  the person or client it authenticated: actor, role, regions, scopes. The services hold only the
  public key, so no service — and nobody inside the network — can mint one.
- a **service credential**, signed with the secret the services share (HS256), for calls between
  services and from operators' tools: the internal endpoints (outbox, replay, identity, metrics)
  accept nothing else.

Both live a minute. Verification fixes the algorithm per key, so a token signed with the public key
as an HMAC secret, or with `alg: none`, is refused.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.scope import EVERYWHERE

log = logging.getLogger(__name__)

AUDIENCE = "guazheng-services"
GATEWAY_ISSUER = "guazheng-gateway"
SERVICE_ISSUER = "guazheng-service"
LIFETIME_SECONDS = 60
_REQUIRED = ["iss", "aud", "exp", "iat", "sub", "role", "regions", "scope"]

# Development-only keys, fixed so a local run and its tests agree; production refuses them (settings).
DEV_CALLER_SIGNING_KEY = base64.b64encode(b"dev-only-ed25519-seed-32-bytes!!").decode()
DEV_SERVICE_SECRET = "dev-only-service-credential-secret-not-for-production"


class CallerKind(StrEnum):
    person = "person"  # an officer signed in as themselves
    client = "client"  # a machine client of the gateway (a feed, a platform, a dashboard)
    service = "service"  # another service of the suite, or an operator's tool


# Roles that never receive a name or an ID fragment (DOMAIN §8; gateway_svc.roles.Role.dashboard).
MASKED_ROLES = frozenset({"dashboard"})


@dataclass(frozen=True)
class Caller:
    """A verified caller: what the credential states, nothing a request could add."""

    actor: str
    role: str
    regions: tuple[str, ...]
    scopes: frozenset[str]
    kind: CallerKind
    # The officers a request names (an assignee), as the gateway knows them: username → the regions of their
    # account, for those that are active accounts able to work cases. Only on the routes that name officers.
    officers: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    @property
    def is_service(self) -> bool:
        return self.kind is CallerKind.service

    @property
    def sees_personal_data(self) -> bool:
        """Whether responses and exports may carry names and ID fragments for this caller: not for the
        dashboard role (masked data only: counts, codes, pseudonymous references)."""
        return self.role not in MASKED_ROLES


class InvalidCredential(Exception):
    """Missing, malformed, expired or not ours (the reason is for our logs, not for the caller)."""


def signing_key(encoded: str) -> Ed25519PrivateKey:
    """The gateway's key from its base64 32-byte seed."""
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded))


def verify_key(encoded: str) -> Ed25519PublicKey:
    """A service's copy of the gateway's public key, base64 of its 32 raw bytes."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))


def public_key_of(signing_key_encoded: str) -> str:
    """The base64 public key that goes with a base64 signing seed (what services are configured with)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = signing_key(signing_key_encoded).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(public).decode()


DEV_CALLER_VERIFY_KEY = public_key_of(DEV_CALLER_SIGNING_KEY)


def _claims(
    issuer: str, actor: str, role: str, regions: tuple[str, ...], scopes: frozenset[str], kind: CallerKind
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": issuer,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": uuid.uuid4().hex,
        "sub": actor,
        "role": role,
        "kind": kind.value,
        "regions": list(regions),
        "scope": " ".join(sorted(scopes)),
    }


def caller_credential(
    key: Ed25519PrivateKey,
    *,
    actor: str,
    role: str,
    regions: tuple[str, ...],
    scopes: frozenset[str],
    kind: CallerKind,
    officers: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """What the gateway sends a service on behalf of the caller it authenticated (with, where the request names
    officers, what the gateway knows of them: `Caller.officers`)."""
    claims = _claims(GATEWAY_ISSUER, actor, role, regions, scopes, kind)
    if officers is not None:
        claims["officers"] = {name: list(codes) for name, codes in officers.items()}
    return jwt.encode(claims, key, algorithm="EdDSA")


def service_credential(secret: str, service: str) -> str:
    """What a service (or an operator's tool) presents to another service's internal endpoints."""
    claims = _claims(SERVICE_ISSUER, service, "service", (EVERYWHERE,), frozenset({"internal"}), CallerKind.service)
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(token: str, *, caller_key: Ed25519PublicKey, service_secret: str) -> Caller:
    """The caller a credential states, or InvalidCredential."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm == "EdDSA":
            claims = jwt.decode(
                token, caller_key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=GATEWAY_ISSUER,
                options={"require": _REQUIRED},
            )  # fmt: skip
            kind = CallerKind(claims.get("kind", CallerKind.client))
            if kind is CallerKind.service:
                raise InvalidCredential("the gateway does not speak for services")
        elif algorithm == "HS256":
            claims = jwt.decode(
                token, service_secret, algorithms=["HS256"], audience=AUDIENCE, issuer=SERVICE_ISSUER,
                options={"require": _REQUIRED},
            )  # fmt: skip
            kind = CallerKind.service
        else:
            raise InvalidCredential(f"algorithm {algorithm!r} is not accepted")
        regions = tuple(str(code) for code in claims["regions"])
        if not regions or not all(len(code) == 6 and code.isdigit() for code in regions):
            raise InvalidCredential("regions are not division codes")
        officers = {str(name): tuple(str(c) for c in codes) for name, codes in dict(claims.get("officers", {})).items()}
        return Caller(
            actor=str(claims["sub"]),
            role=str(claims["role"]),
            regions=regions,
            scopes=frozenset(str(claims["scope"]).split()),
            kind=kind,
            officers=officers,
        )
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidCredential(str(exc)) from None


# --- at the service's door ------------------------------------------------------------------

# Health probes and the API description need no credential (they hold nothing personal; the gateway
# merges the services' descriptions); everything else does.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
# The docs pages' script, style and icon (kernel.service.install_docs).
DOCS_ASSETS = "/docs/static"
# Only another service (or an operator's tool) may call these.
INTERNAL_PREFIXES = ("/internal/", "/metrics")


class CredentialsMiddleware:
    """Admits a request only with a valid credential, and puts the verified `Caller` in
    `request.state.caller`: routes read who is calling there, and nowhere else."""

    def __init__(
        self, app: ASGIApp, *, caller_key: Ed25519PublicKey, service_secret: str, internal_only: bool = False
    ) -> None:
        self.app = app
        self.caller_key = caller_key
        self.service_secret = service_secret
        # The gateway authenticates its public routes itself: only its internal paths are guarded here.
        self.internal_only = internal_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in OPEN_PATHS
            or scope["path"].startswith(DOCS_ASSETS + "/")
            or (self.internal_only and not scope["path"].startswith(INTERNAL_PREFIXES))
        ):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            await _refuse(401, "unauthorized", "a credential is required", scope, receive, send)
            return
        try:
            caller = verify(token, caller_key=self.caller_key, service_secret=self.service_secret)
        except InvalidCredential as exc:
            log.info("credential refused", extra={"path": scope["path"], "reason": str(exc)})
            await _refuse(401, "unauthorized", "the credential is not valid", scope, receive, send)
            return
        if scope["path"].startswith(INTERNAL_PREFIXES) and not caller.is_service:
            await _refuse(
                403, "forbidden", "an internal endpoint: only the suite's services may call it", scope, receive, send
            )
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if kind.lower() == "bearer" else None
    return None


async def _refuse(status: int, error_type: str, msg: str, scope: Scope, receive: Receive, send: Send) -> None:
    headers = {"WWW-Authenticate": 'Bearer realm="guazheng-services"'} if status == 401 else None
    body = {"detail": [{"type": error_type, "msg": msg, "loc": ["header", "authorization"]}]}
    await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)


class ServiceAuth(httpx.Auth):
    """Signs every request of a service's HTTP client with a fresh service credential."""

    def __init__(self, secret: str, service: str) -> None:
        self.secret = secret
        self.service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # A request that names its own credential keeps it (a test acting as an officer, say).
        request.headers.setdefault("Authorization", f"Bearer {service_credential(self.secret, self.service)}")
        yield request
