"""Forwarding to the services: the routing table decides, the gateway speaks for the caller with a caller
credential it signs (kernel.credentials: the client's id, role, regions and scopes), bodies stream through
both ways within their size limit, and a service that is down or slow is a 503/504 in the suite's error
shape.

A read of personal data is written to the audit log before the answer leaves: by the person in the path,
or — for a case, a registration by certificate, and the lists that show people — by the people the
answer names (read whole for that), or — for a check request's list of ID numbers — by the people
registry-svc says are on it. The service's answer keeps its headers except the hop-by-hop ones
and those the gateway's own server sets (`date`, `server`): each appears once."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from gateway_svc import accounts, audit, routing
from gateway_svc.deps import Gateway, GatewayDep, RuntimeDep, authenticate, require
from gateway_svc.refusals import BodyTooLarge, NoRoute, ServiceDown, ServiceTimeout, log_refusal
from gateway_svc.routing import SERVICE_TITLES, Kind, Match
from gateway_svc.tokens import Caller
from ingest.check_requests import REQUESTED_PATH, Requested
from kernel.credentials import caller_credential
from kernel.db import Database
from kernel.logs import request_id
from kernel.scope import EVERYWHERE
from kernel.service import accepts_any_query

log = logging.getLogger(__name__)
router = APIRouter()

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}
# Set by the gateway's own server on every answer: the service's copies would be duplicates.
_SERVER_SET = {"date", "server"}
# Never passed on from a client: who is calling is the gateway's credential (it replaces the client's
# Authorization) and the request id is the gateway's. The services take the caller's regions and identity
# from the credential only; headers claiming them are dropped all the same, so that nothing downstream (a
# log, a tool) can mistake them for the caller.
_NOT_FORWARDED = HOP_BY_HOP | {
    "authorization",
    "cookie",
    "idempotency-key",
    "x-request-id",
    "x-region-scope",
    "x-actor",
    "x-actor-role",
    "x-csrf-token",
}
# How a service names the person of a file it serves (Kind.person_in_header); never passed on to the caller.
PERSON_REF_HEADER = "x-person-ref"
_PATH_SAFE = "/-._~!$&'()*+,;=:@"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/api/v1/{path:path}", methods=METHODS, include_in_schema=False)
@accepts_any_query  # the service behind the route refuses a query parameter it does not declare (422)
async def forward(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> Response:
    settings = runtime.settings
    found = routing.match(request.method, request.url.path)
    if found is None:
        raise NoRoute("no such route", loc=["path"])
    caller = await authenticate(request, runtime, gateway)
    require(caller, found.scope)
    limit = {Kind.feed: settings.feed_body_limit, Kind.attachment: settings.attachment_body_limit}.get(
        found.kind, settings.body_limit
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body may hold at most {limit} bytes here", loc=["body"])
    if found.kind is Kind.batch:
        owner = await audit.batch_owner(runtime.db, found.service, found.params["batch_id"])
        if owner != caller.principal:
            raise NoRoute("no batch with this id", loc=["path", "batch_id"])
    content: bytes | AsyncIterator[bytes] | None = (
        _body(request, limit) if request.method in {"POST", "PUT", "PATCH"} else None
    )
    officers = None
    if found.kind is Kind.assignment:
        content = await _whole_body(request, limit)
        officers = await accounts.officers(runtime.db, gateway.clients, officers_named(content))
    try:
        upstream = gateway.http.build_request(
            request.method,
            # The path was decoded to match the table: encoded again, any character reaches the service intact.
            settings.service_urls[found.service] + quote(found.upstream_path, safe=_PATH_SAFE),
            params=forwarded_query(request, settings.max_page_size),
            headers=_headers(request, caller, gateway.caller_key, uploading=found.kind is Kind.feed, officers=officers),
            content=content,
        )
    except httpx.InvalidURL:
        raise NoRoute("no such route", loc=["path"]) from None
    title = SERVICE_TITLES[found.service]
    try:
        response = await gateway.http.send(upstream, stream=True)
    except _TooLarge:
        raise BodyTooLarge(f"the body may hold at most {limit} bytes here", loc=["body"]) from None
    except httpx.TimeoutException:
        raise ServiceTimeout(f"{title} did not answer in time") from None
    except httpx.TransportError:
        log.warning("service unreachable", extra={"service": title})
        raise ServiceDown(f"{title} is unavailable; retry later") from None
    if response.status_code in (403, 404):
        log_refusal(request, response.status_code, f"refused by {title}")
    if found.kind is Kind.person:
        try:
            await audit.record_access(
                runtime.db,
                caller,
                found.params["person_ref"],
                "read",
                f"{request.method} {found.template}",
                response.status_code,
            )
        except BaseException:
            await response.aclose()
            raise
    if found.kind is Kind.check_request_people and response.status_code == 200:
        try:
            people = await _listed_people(runtime.settings.registry_url, gateway, found.params["request_ref"])
            route = f"{request.method} {found.template}"
            await audit.record_accesses(runtime.db, caller, people, "export", route, response.status_code)
        except BaseException:
            await response.aclose()
            raise
    person_ref = response.headers.get(PERSON_REF_HEADER)
    if found.kind is Kind.person_in_header and response.status_code == 200:
        if person_ref is None:
            await response.aclose()
            raise ServiceDown(f"{title} did not name the person of a file about one")
        try:
            route = f"{request.method} {found.template}"
            await audit.record_access(runtime.db, caller, person_ref, "read", route, response.status_code)
        except BaseException:
            await response.aclose()
            raise
    if found.kind is Kind.publication_export and response.status_code == 200:
        try:
            people = await _published_people(settings.service_urls["case"], gateway, found.params["publication_id"])
            route = f"{request.method} {found.template}"
            await audit.record_accesses(runtime.db, caller, people, "export", route, response.status_code)
        except BaseException:
            await response.aclose()
            raise
    if found.kind is Kind.feed:
        return await _receipt(runtime.db, found, caller, response)
    if found.kind in (Kind.person_in_body, Kind.people, Kind.publication):
        return await _audited_read(runtime.db, found, caller, request.method, response)
    streamed = StreamingResponse(
        response.aiter_raw(), status_code=response.status_code, background=BackgroundTask(response.aclose)
    )
    return _with_headers(streamed, _response_headers(response, drop=frozenset({PERSON_REF_HEADER.encode()})))


class _TooLarge(Exception):
    pass


async def _whole_body(request: Request, limit: int) -> bytes:
    """A small body read whole (within `limit`), for the gateway to look at before passing it on."""
    try:
        return b"".join([chunk async for chunk in _body(request, limit)])
    except _TooLarge:
        raise BodyTooLarge(f"the body may hold at most {limit} bytes here", loc=["body"]) from None


# What an account's username or a client's id can be (accounts.USERNAME_PATTERN, clients.Client): nothing else is
# looked up (a fuzzer's NUL or megabyte name never reaches the database).
_ACCOUNT_OR_CLIENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")


def officers_named(body: bytes) -> list[str]:
    """The usernames a case-assigning body names (`assignee`, `assignees`); nothing when it is not the JSON
    object the service expects (the service answers that)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(parsed, dict):
        return []
    named = [parsed.get("assignee")] + (parsed["assignees"] if isinstance(parsed.get("assignees"), list) else [])
    return [name for name in named[:101] if isinstance(name, str) and _ACCOUNT_OR_CLIENT.fullmatch(name)]


async def _body(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives, never held whole; stops the upload past `limit` bytes."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _TooLarge
        yield chunk


def forwarded_query(request: Request, max_page: int) -> httpx.QueryParams:
    """The query string, with a page size above the gateway's cap reduced to it."""
    return httpx.QueryParams(
        [
            (name, str(max_page) if name == "limit" and value.isdigit() and int(value) > max_page else value)
            for name, value in request.query_params.multi_items()
        ]
    )


def credential_headers(
    caller: Caller,
    signing_key: Ed25519PrivateKey,
    *,
    uploading: bool = False,
    officers: dict[str, tuple[str, ...]] | None = None,
) -> list[tuple[bytes, bytes]]:
    """Who is calling, as a credential the services verify (kernel.credentials): the client's id or the
    person's username, role, regions and scopes, and whether a client or a person, signed with the key only
    the gateway holds; and the request id. A bureau's person uploading a file speaks as the feed client they
    act for (the client's batch, read with the client's profile); the gateway notes who uploaded it."""
    credential = caller_credential(
        signing_key,
        actor=caller.principal if uploading else caller.client_id,
        role=caller.role,
        regions=caller.regions,
        scopes=caller.scopes,
        kind=caller.kind,
        officers=officers,
    )
    headers = [(b"authorization", b"Bearer " + credential.encode())]
    if rid := request_id.get():
        headers.append((b"x-request-id", rid.encode("latin-1")))
    return headers


def _headers(
    request: Request,
    caller: Caller,
    signing_key: Ed25519PrivateKey,
    *,
    uploading: bool = False,
    officers: dict[str, tuple[str, ...]] | None = None,
) -> list[tuple[bytes, bytes]]:
    """The client's headers as bytes (values may be any octets, e.g. a UTF-8 Idempotency-Key), without
    the ones the gateway sets or drops (the session cookie and the CSRF token among them), plus the
    caller's credential."""
    headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower() not in _NOT_FORWARDED]
    headers += credential_headers(caller, signing_key, uploading=uploading, officers=officers)
    for key, value in request.headers.raw:
        if key.lower() == b"idempotency-key":
            # Per client: two bureaus choosing the same key must not see each other's receipt.
            headers.append((b"idempotency-key", caller.principal.encode() + b":" + value))
            break
    return headers


def _response_headers(response: httpx.Response, *, drop: frozenset[bytes] = frozenset()) -> list[tuple[bytes, bytes]]:
    # The gateway's middleware sets the request id, its server the date and its name.
    skip = {h.encode() for h in HOP_BY_HOP | _SERVER_SET} | {b"x-request-id"} | drop
    return [(k, v) for k, v in response.headers.raw if k.lower() not in skip]


def _with_headers(outgoing: Response, headers: list[tuple[bytes, bytes]]) -> Response:
    """The service's headers as it sent them (bytes: nothing is re-encoded on the way)."""
    own = [(k, v) for k, v in outgoing.raw_headers if k not in {name for name, _ in headers}]
    outgoing.raw_headers = own + headers
    return outgoing


def people_in(kind: Kind, body: object) -> list[str]:
    """Whose data an answer shows: the `person_ref` of a single object, or of each of a page's `items`, or — for
    publication lists — of each of the `rows` of the list or of each list on the page."""
    if kind is Kind.person_in_body:
        objects = [body]
    else:
        items = body.get("items") if isinstance(body, dict) else None
        objects = items if isinstance(items, list) else []
    if kind is Kind.publication:
        lists = objects if isinstance(body, dict) and "items" in body else [body]
        objects = [row for one in lists if isinstance(one, dict) for row in one.get("rows") or []]
    return [ref for obj in objects if isinstance(obj, dict) and isinstance(ref := obj.get("person_ref"), str)]


async def _audited_read(db: Database, found: Match, caller: Caller, method: str, response: httpx.Response) -> Response:
    """A read whose people are named in the answer: read whole, its people written to the audit log (one
    entry each), then passed on. A refusal names nobody and is passed on as it is."""
    try:
        body = await response.aread()
    finally:
        await response.aclose()
    if response.status_code == 200:
        try:
            people = people_in(found.kind, orjson.loads(body))
        except orjson.JSONDecodeError:
            raise ServiceDown(f"{SERVICE_TITLES[found.service]} answered a read that is not JSON") from None
        await audit.record_accesses(db, caller, people, "read", f"{method} {found.template}", response.status_code)
    return _with_headers(
        Response(body, status_code=response.status_code),
        _response_headers(response, drop=frozenset({b"content-length"})),
    )


async def _listed_people(registry_url: str, gateway: Gateway, request_ref: str) -> list[str]:
    """Who is on a check request's list: registry-svc names them (its internal route, for every region; the
    caller's own regions were applied by the download itself)."""
    try:
        response = await gateway.http.get(
            registry_url + REQUESTED_PATH,
            params={"request_ref": request_ref, "region": EVERYWHERE},
            auth=gateway.service_auth,
        )
        response.raise_for_status()
        return [
            person for listed in Requested.model_validate_json(response.content).requests for person in listed.people
        ]
    except (httpx.HTTPError, ValueError):
        raise ServiceDown("registry-svc did not name the people of this list; nothing was sent") from None


async def _published_people(case_url: str, gateway: Gateway, publication_id: str) -> list[str]:
    """Who is on an exported publication list: case-svc's JSON of the same list names them (read with the
    gateway's service credential; the caller's own regions were applied by the export itself)."""
    try:
        response = await gateway.http.get(
            f"{case_url}/api/v1/publications/{quote(publication_id, safe='')}", auth=gateway.service_auth
        )
        response.raise_for_status()
        return people_in(Kind.publication, response.json())
    except (httpx.HTTPError, ValueError):
        raise ServiceDown("case-svc did not name the people of this list; nothing was sent") from None


async def _receipt(db: Database, found: Match, caller: Caller, response: httpx.Response) -> Response:
    """A feed's answer is a receipt (small): read whole, to note the uploader as the batch's owner (a dry run's
    batch is never stored: nobody owns it)."""
    try:
        body = await response.aread()
    finally:
        await response.aclose()
    if response.status_code in (200, 201):
        try:
            receipt = orjson.loads(body)
            batch_id, dry_run = receipt["batch_id"], receipt.get("dry_run")
            uuid.UUID(batch_id)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ServiceDown(f"{SERVICE_TITLES[found.service]} answered an upload without a receipt") from None
        if not dry_run:
            await audit.record_batch(db, found.service, uuid.UUID(batch_id), caller)
    return _with_headers(
        Response(body, status_code=response.status_code),
        _response_headers(response, drop=frozenset({b"content-length"})),
    )
