"""What a gateway route depends on: the gateway's resources, and the authenticated, rate-limited caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request

from gateway_svc.clients import Client
from gateway_svc.ratelimit import RateLimiter
from gateway_svc.refusals import InsufficientScope, RateLimited, Unauthenticated
from gateway_svc.roles import Scope
from gateway_svc.settings import GatewaySettings
from gateway_svc.tokens import Caller, InvalidToken, verify
from kernel.service import Runtime


@dataclass
class Gateway:
    """The gateway's long-lived resources, made by its lifespan (main.py)."""

    settings: GatewaySettings
    runtime: Runtime  # database (audit log), pseudonymizer
    clients: dict[str, Client]
    http: httpx.AsyncClient  # one pool to every service
    limiter: RateLimiter
    openapi: object  # gateway.openapi.MergedOpenAPI


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def authenticate(request: Request, gateway: Gateway) -> Caller:
    """The caller of a bearer token, counted against its rate limit; refuses (401/429) otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("a bearer token is required (POST /api/v1/auth/token)")
    try:
        caller = verify(gateway.settings, token.strip())
    except InvalidToken:
        raise Unauthenticated(
            "the bearer token is invalid or expired",
            headers={"WWW-Authenticate": 'Bearer realm="guazheng", error="invalid_token"'},
        ) from None
    if caller.client_id not in gateway.clients:  # removed from the configuration since the token was issued
        raise Unauthenticated("the client of this token is no longer configured")
    request.state.caller = caller
    if (wait := gateway.limiter.take(caller.client_id)) is not None:
        raise RateLimited(
            "too many requests for this client; retry later",
            headers={"Retry-After": RateLimiter.retry_after(wait)},
        )
    return caller


def require(caller: Caller, scope: Scope) -> None:
    if not caller.holds(scope):
        raise InsufficientScope(
            f"this token lacks the scope {scope.value}",
            headers={"WWW-Authenticate": f'Bearer realm="guazheng", error="insufficient_scope", scope="{scope.value}"'},
        )


def scoped(scope: Scope):
    """A dependency giving the caller once it holds `scope`."""

    def dependency(request: Request, gateway: GatewayDep) -> Caller:
        caller = authenticate(request, gateway)
        require(caller, scope)
        return caller

    return Depends(dependency)
