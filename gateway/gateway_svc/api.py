"""The gateway's own routes: tokens (OAuth2 client credentials), person lookup and reveal, the audit log."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC
from typing import Annotated
from urllib.parse import parse_qs, unquote

import httpx
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from domain.identifiers import InvalidIdentifier, normalize_id_number
from gateway_svc import audit
from gateway_svc.clients import verify_secret
from gateway_svc.deps import GatewayDep, RuntimeDep, scoped
from gateway_svc.proxy import credential_headers
from gateway_svc.ratelimit import RateLimiter
from gateway_svc.refusals import NoRoute, ServiceDown, ServiceTimeout, log_refusal
from gateway_svc.roles import Scope
from gateway_svc.schemas import Identity, LookupRequest, LookupResult, PersonAccess, TokenResponse
from gateway_svc.tokens import Caller, issue
from kernel.deps import DbConnection
from kernel.errors import Invalid
from kernel.paging import Cursor, Page
from kernel.privacy import mask_id_number
from kernel.values import Since

PREFIX = "/api/v1"
router = APIRouter(prefix=PREFIX)

# --- tokens -------------------------------------------------------------------------------------

_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string", "format": "password"},
                        "scope": {"type": "string", "description": "space-separated; a subset of the client's"},
                    },
                },
                "example": {"grant_type": "client_credentials", "client_id": "hohhot-officer", "client_secret": "…"},
            }
        },
    }
}


def _oauth_error(request: Request, status: int, error: str, description: str, **headers: str) -> JSONResponse:
    """RFC 6749 §5.2: this endpoint's errors are OAuth's shape, not the suite's. Each is a logged refusal."""
    log_refusal(request, status, error)
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", **headers},
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return unquote(client_id), unquote(secret)


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    tags=["auth"],
    summary="Get an access token (OAuth2 client credentials)",
    description="Form `grant_type=client_credentials`, `client_id`, `client_secret` (or HTTP Basic). Errors follow "
    'RFC 6749 §5.2: `{"error": "invalid_client", "error_description": …}`.',
    openapi_extra=_TOKEN_FORM,
    responses={
        400: {"description": "invalid_request, unsupported_grant_type, invalid_scope"},
        401: {"description": "invalid_client"},
        429: {"description": "too many attempts"},
    },
)
async def token(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(request, 400, "invalid_request", "send the parameters as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > 8192:
            return _oauth_error(request, 400, "invalid_request", "the request is too large")
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode(), strict_parsing=False).items() if len(v) == 1}
    except UnicodeDecodeError:
        return _oauth_error(request, 400, "invalid_request", "the form is not UTF-8")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(request, 400, "unsupported_grant_type", "only client_credentials is supported")
    client_id, secret = _basic_credentials(request) or (form.get("client_id", ""), form.get("client_secret", ""))
    client = gateway.clients.get(client_id)
    # One bucket per known client, one for all unknown ids: guessing is slowed, memory stays bounded.
    if (wait := gateway.limiter.take(f"token:{client_id if client else '?'}")) is not None:
        return _oauth_error(
            request, 429, "slow_down", "too many token requests", **{"Retry-After": RateLimiter.retry_after(wait)}
        )
    if not await asyncio.to_thread(verify_secret, client, secret) or client is None:
        return _oauth_error(
            request, 401, "invalid_client", "unknown client or wrong secret", **{"WWW-Authenticate": "Basic"}
        )
    scopes = client.scopes
    if requested := form.get("scope"):
        wanted = set(requested.split())
        if not wanted <= {s.value for s in scopes}:
            return _oauth_error(request, 400, "invalid_scope", "a requested scope is not the client's")
        scopes = frozenset(s for s in scopes if s.value in wanted)
    access_token, ttl = issue(runtime.settings, client, scopes)
    return JSONResponse(
        TokenResponse(access_token=access_token, expires_in=ttl, scope=" ".join(sorted(scopes))).model_dump(),
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# --- persons ------------------------------------------------------------------------------------


@router.post(
    "/persons/lookup",
    response_model=LookupResult,
    tags=["persons"],
    summary="A person's reference from their ID number",
)
async def lookup(
    body: LookupRequest, runtime: RuntimeDep, caller: Annotated[Caller, scoped(Scope.persons_read)]
) -> LookupResult:
    """The pseudonym the services know the person by (the ID is never put in a URL or a log line)."""
    try:
        id_number = normalize_id_number(body.id_number)
    except InvalidIdentifier as exc:
        raise Invalid(exc.message, loc=["body", "id_number"], error_type=exc.code) from None
    person_ref = runtime.pseudonymizer.person_key(id_number)
    await audit.record_access(runtime.db, caller, person_ref, "lookup", f"POST {PREFIX}/persons/lookup", 200)
    return LookupResult(person_ref=person_ref, masked_id=mask_id_number(id_number))


PersonRef = Annotated[
    str, Path(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$", description="the person's pseudonym")
]


@router.post(
    "/persons/{person_ref}/reveal",
    response_model=Identity,
    tags=["persons"],
    summary="The full ID number of a registered person (audited)",
    responses={404: {"description": "no registered person with this reference in the caller's regions"}},
)
async def reveal(
    person_ref: PersonRef,
    runtime: RuntimeDep,
    gateway: GatewayDep,
    caller: Annotated[Caller, scoped(Scope.persons_reveal)],
) -> JSONResponse:
    registry = runtime.settings.registry_url
    try:
        # The identity endpoint is internal: registry answers it to a service, for every region. So the
        # caller's regions are applied first, by asking registry as the caller (the same test the identity
        # query makes: a registration in the regions), and only then is the identity read as the gateway.
        visible = await gateway.http.get(
            f"{registry}{PREFIX}/registry/persons/{person_ref}/registrations",
            params={"limit": 1},
            headers=credential_headers(caller, gateway.caller_key),
        )
        if visible.status_code != 200:
            raise ServiceDown("registry-svc could not reveal this person now")
        response = (
            await gateway.http.get(f"{registry}/internal/persons/{person_ref}/identity", auth=gateway.service_auth)
            if visible.json()["items"]
            else None
        )
    except httpx.TimeoutException:
        raise ServiceTimeout("registry-svc did not answer in time") from None
    except httpx.TransportError:
        raise ServiceDown("registry-svc is unavailable; retry later") from None
    status = 404 if response is None else response.status_code
    route = f"POST {PREFIX}/persons/{{person_ref}}/reveal"
    await audit.record_access(runtime.db, caller, person_ref, "reveal", route, status)
    if response is None or status == 404:
        raise NoRoute("no registered person with this reference", loc=["path", "person_ref"])
    if status != 200:
        raise ServiceDown("registry-svc could not reveal this person now")
    return JSONResponse(
        Identity.model_validate_json(response.content).model_dump(), headers={"Cache-Control": "no-store"}
    )


# --- audit --------------------------------------------------------------------------------------


@router.get(
    "/audit/person-access", response_model=Page[PersonAccess], tags=["audit"], summary="Who read or revealed whom"
)
async def person_access(
    runtime: RuntimeDep,
    _: Annotated[Caller, scoped(Scope.audit_read)],
    pg: DbConnection,  # after the caller: a refused request takes no connection
    person_ref: Annotated[str | None, Query(max_length=64)] = None,
    client_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Since | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[PersonAccess]:
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return await audit.person_accesses(
        pg,
        person_ref=person_ref,
        client_id=client_id,
        since=since,
        cursor=cursor,
        limit=min(limit, runtime.settings.max_page_size),
    )
