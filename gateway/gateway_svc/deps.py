"""What a gateway route depends on: the runtime (typed by the gateway's settings), the gateway's own
resources, and the authenticated, rate-limited caller — a machine client by its bearer token, or a person by
the session cookie (sessions.py), whose writes carry the session's CSRF token and come from this site."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request

from gateway_svc import accounts, sessions
from gateway_svc.clients import Client
from gateway_svc.openapi import MergedOpenAPI
from gateway_svc.ratelimit import RateLimiter
from gateway_svc.refusals import CsrfRefused, InsufficientScope, PasswordChangeRequired, RateLimited, Unauthenticated
from gateway_svc.roles import Scope
from gateway_svc.settings import GatewaySettings
from gateway_svc.tokens import Caller, InvalidToken, verify
from kernel.credentials import CallerKind, ServiceAuth
from kernel.deps import get_runtime
from kernel.service import Runtime

RuntimeDep = Annotated[Runtime[GatewaySettings], Depends(get_runtime)]


@dataclass
class Gateway:
    """What the gateway holds besides the kernel's runtime (settings, database, pseudonymizer), made by
    its lifespan (main.py)."""

    clients: dict[str, Client]
    http: httpx.AsyncClient  # one pool to every service, with the upstream timeouts
    limiter: RateLimiter
    openapi: MergedOpenAPI
    caller_key: Ed25519PrivateKey  # signs the caller credential of every forwarded request
    service_auth: ServiceAuth  # the gateway's own calls to internal endpoints (reveal)


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def authenticate(request: Request, runtime: Runtime[GatewaySettings], gateway: Gateway) -> Caller:
    """The caller of a bearer token (a machine client) or of the session cookie (a person), counted against
    its rate limit; refuses (401/403/429) otherwise. A bearer token wins over a cookie sent with it."""
    settings = runtime.settings
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    session_id = sessions.session_id_of(request, settings)
    if scheme.lower() == "bearer" and token:
        caller = _client_caller(settings, gateway, token.strip())
        bucket = caller.client_id
    elif not request.headers.get("authorization") and session_id is not None:
        caller = await _person_caller(request, runtime, session_id)
        bucket = f"account:{caller.client_id}"
    else:
        raise Unauthenticated("a bearer token (POST /api/v1/auth/token) or a signed-in session is required")
    request.state.caller = caller
    if (wait := gateway.limiter.take(bucket)) is not None:
        raise RateLimited("too many requests for this client; retry later", wait=wait)
    return caller


def _client_caller(settings: GatewaySettings, gateway: Gateway, token: str) -> Caller:
    try:
        caller = verify(settings, token)
    except InvalidToken:
        raise Unauthenticated("the bearer token is invalid or expired", token_error="invalid_token") from None
    if caller.client_id not in gateway.clients:  # removed from the configuration since the token was issued
        raise Unauthenticated("the client of this token is no longer configured")
    return caller


# What a person whose password is a one-time one may still do: see who they are, change it, sign out.
_BEFORE_PASSWORD_CHANGE = {
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/password"),
    ("DELETE", "/api/v1/auth/session"),
}


async def _person_caller(request: Request, runtime: Runtime[GatewaySettings], session_id: str) -> Caller:
    async with accounts.own_transaction(runtime.db) as pg:
        session = await sessions.current(pg, runtime.settings, session_id)
    if session is None:
        raise Unauthenticated("the session has ended or is not valid: sign in again (POST /api/v1/auth/session)")
    request.state.session = session
    if request.method not in sessions.SAFE_METHODS:
        # A write the browser would send on its own from another site carries the cookie, not the token.
        if not sessions.origin_allowed(request, runtime.settings):
            raise CsrfRefused("the request does not come from this site (Origin)", loc=["header", "origin"])
        if not sessions.token_matches(session.csrf_token, await _sent_csrf_token(request)):
            raise CsrfRefused(
                "a write with the session cookie needs its CSRF token (header X-CSRF-Token)",
                loc=["header", "x-csrf-token"],
            )
    if session.account.must_change_password and (request.method, request.url.path) not in _BEFORE_PASSWORD_CHANGE:
        raise PasswordChangeRequired()
    return person(session)


def person(session: sessions.Session) -> Caller:
    """The caller a person's live session makes: the account's username, role, regions and scopes."""
    account = session.account
    return Caller(
        client_id=account.username,
        role=account.role.value,
        scopes=frozenset(s.value for s in account.scopes),
        regions=account.region_scope,
        token_id=session.session_hash[:16],
        kind=CallerKind.person,
        acts_for=account.acts_for,
    )


async def _sent_csrf_token(request: Request) -> str | None:
    """The X-CSRF-Token header, or the `csrf_token` field of a small form (the console's plain HTML forms)."""
    if token := request.headers.get(sessions.CSRF_HEADER):
        return token
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > 65_536:
        return None
    body = await request.body()  # kept by the request: the route reads it again
    values = parse_qs(body.decode("utf-8", "replace")).get(sessions.CSRF_FIELD)
    return values[0] if values and len(values) == 1 else None


def require(caller: Caller, scope: Scope) -> None:
    if not caller.holds(scope):
        raise InsufficientScope(scope)


def scoped(scope: Scope) -> Any:
    """A dependency giving the caller once it holds `scope`: `Annotated[Caller, scoped(Scope.…)]`."""

    async def dependency(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> Caller:
        caller = await authenticate(request, runtime, gateway)
        require(caller, scope)
        return caller

    return Depends(dependency)
