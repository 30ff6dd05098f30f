"""What a gateway route depends on: the runtime (typed by the gateway's settings), the gateway's own
resources, and the authenticated, rate-limited caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request

from gateway_svc.clients import Client
from gateway_svc.openapi import MergedOpenAPI
from gateway_svc.ratelimit import RateLimiter
from gateway_svc.refusals import InsufficientScope, RateLimited, Unauthenticated
from gateway_svc.roles import Scope
from gateway_svc.settings import GatewaySettings
from gateway_svc.tokens import Caller, InvalidToken, verify
from kernel.credentials import ServiceAuth
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


def authenticate(request: Request, settings: GatewaySettings, gateway: Gateway) -> Caller:
    """The caller of a bearer token, counted against its rate limit; refuses (401/429) otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("a bearer token is required (POST /api/v1/auth/token)")
    try:
        caller = verify(settings, token.strip())
    except InvalidToken:
        raise Unauthenticated("the bearer token is invalid or expired", token_error="invalid_token") from None
    if caller.client_id not in gateway.clients:  # removed from the configuration since the token was issued
        raise Unauthenticated("the client of this token is no longer configured")
    request.state.caller = caller
    if (wait := gateway.limiter.take(caller.client_id)) is not None:
        raise RateLimited("too many requests for this client; retry later", wait=wait)
    return caller


def require(caller: Caller, scope: Scope) -> None:
    if not caller.holds(scope):
        raise InsufficientScope(scope)


def scoped(scope: Scope) -> Any:
    """A dependency giving the caller once it holds `scope`: `Annotated[Caller, scoped(Scope.…)]`."""

    def dependency(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> Caller:
        caller = authenticate(request, runtime.settings, gateway)
        require(caller, scope)
        return caller

    return Depends(dependency)
