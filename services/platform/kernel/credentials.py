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
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kernel.scope import EVERYWHERE

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


@dataclass(frozen=True)
class Caller:
    """A verified caller: what the credential states, nothing a request could add."""

    actor: str
    role: str
    regions: tuple[str, ...]
    scopes: frozenset[str]
    kind: CallerKind

    @property
    def is_service(self) -> bool:
        return self.kind is CallerKind.service


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
    key: Ed25519PrivateKey, *, actor: str, role: str, regions: tuple[str, ...], scopes: frozenset[str], kind: CallerKind
) -> str:
    """What the gateway sends a service on behalf of the caller it authenticated."""
    return jwt.encode(_claims(GATEWAY_ISSUER, actor, role, regions, scopes, kind), key, algorithm="EdDSA")


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
        return Caller(
            actor=str(claims["sub"]),
            role=str(claims["role"]),
            regions=regions,
            scopes=frozenset(str(claims["scope"]).split()),
            kind=kind,
        )
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidCredential(str(exc)) from None
