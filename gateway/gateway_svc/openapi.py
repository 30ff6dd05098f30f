"""One OpenAPI document for the whole public API: the gateway's routes plus, from each service's own
document (fetched lazily, cached), exactly the operations the route table makes public."""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway_svc.roles import Scope
from gateway_svc.routing import PREFIX_ROUTES, ROUTES, SERVICE_TITLES
from gateway_svc.settings import GatewaySettings
from kernel.openapi import ERROR_BODY, ERROR_BODY_SCHEMA, REF, one_error_shape

log = logging.getLogger(__name__)
_REF = REF
_ERROR = {"$ref": _REF + ERROR_BODY}
_REFUSALS = {
    "401": "no valid bearer token or signed-in session",
    "403": "the token (or the person's role) lacks this route's scope; a session's write without its CSRF token",
    "429": "rate limit: retry after `Retry-After` seconds",
    "503": "the service behind this route is unavailable",
}
DESCRIPTION = """\
The public API of the 挂证 cross-check suite. Get a token with `POST /api/v1/auth/token`
(OAuth2 client credentials), then send `Authorization: Bearer <token>`; or, as a person, sign in with
`POST /api/v1/auth/session` (the session cookie; each write also sends `X-CSRF-Token`, from
`GET /api/v1/auth/me`, and comes from this site's origin). Each operation names the
scope it needs; lists and objects are limited to the token's regions (another region's object is 404,
as if it did not exist; a `region_code` filter outside them is 403). Every list is a page
`{"items": [...], "next_cursor": ...}` (pass `cursor` for the next); every error is
`{"detail": [{"type", "msg", "loc"}]}` (`ErrorBody`); a query parameter an operation does not declare
is a 422. Responses show ID numbers masked, and none to the dashboard role, which sees no names either;
`POST /api/v1/persons/{person_ref}/reveal` (scope `persons:reveal`) is the only exception, and every
read of a person's data is audited.
"""


class MergedOpenAPI:
    def __init__(self, settings: GatewaySettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._cache: dict[str, tuple[float, dict]] = {}

    async def _service_doc(self, service: str) -> dict | None:
        """The service's document, cached; a stale copy while it is down, None if never seen."""
        cached = self._cache.get(service)
        if cached and time.monotonic() - cached[0] < self.settings.openapi_cache_seconds:
            return cached[1]
        try:
            response = await self.http.get(self.settings.service_urls[service] + "/openapi.json", timeout=5)
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError):
            log.warning("service OpenAPI unavailable", extra={"service": SERVICE_TITLES[service]})
            return cached[1] if cached else None
        self._cache[service] = (time.monotonic(), doc)
        return doc

    async def document(self, app: FastAPI) -> dict[str, Any]:
        own = one_error_shape(
            get_openapi(title="挂证 suite API", version="1", description=DESCRIPTION, routes=app.routes)
        )
        paths: dict[str, dict] = dict(own.get("paths", {}).items())
        schemas: dict[str, Any] = dict(own.get("components", {}).get("schemas", {}))
        unavailable = []
        for service in SERVICE_TITLES:
            doc = await self._service_doc(service)
            if doc is None:
                unavailable.append(SERVICE_TITLES[service])
                continue
            doc = _prefix_conflicting(one_error_shape(doc), schemas, service)
            schemas.update(doc.get("components", {}).get("schemas", {}))
            for public_path, method, operation, scope in _public_operations(doc, service):
                paths.setdefault(public_path, {})[method] = _secured(operation, scope)
        for public_path, operations in paths.items():
            for operation in operations.values():
                if public_path.startswith("/api/v1/auth/"):
                    continue
                operation.setdefault("security", [{"oauth2": []}, {"session": []}])
                for status, text in _REFUSALS.items():
                    operation.setdefault("responses", {}).setdefault(
                        status, {"description": text, "content": {"application/json": {"schema": _ERROR}}}
                    )
        schemas[ERROR_BODY] = ERROR_BODY_SCHEMA
        description = DESCRIPTION
        if unavailable:
            description += (
                f"\n\n**Unavailable when this document was made: {', '.join(unavailable)}** — "
                "their operations are missing here; reload later."
            )
        return {
            "openapi": own.get("openapi", "3.1.0"),
            "info": {"title": "挂证 suite API", "version": "1", "description": description},
            "paths": dict(sorted(paths.items())),
            "components": {
                "schemas": dict(sorted(schemas.items())),
                "securitySchemes": {
                    "session": {
                        "type": "apiKey",
                        "in": "cookie",
                        "name": "__Host-guazheng_session",
                        "description": "A person's session (POST /api/v1/auth/session; `guazheng_session` in "
                        "development). Writes also need the X-CSRF-Token header.",
                    },
                    "oauth2": {
                        "type": "oauth2",
                        "description": "Client credentials; the access token is a JWT sent as a bearer token.",
                        "flows": {
                            "clientCredentials": {
                                "tokenUrl": "/api/v1/auth/token",
                                "scopes": {s.value: s.name.replace("_", " ") for s in Scope},
                            }
                        },
                    },
                },
            },
            "x-unavailable-services": unavailable,
        }


def _public_operations(doc: dict, service: str):
    service_paths = doc.get("paths", {})
    for route in ROUTES:
        if route.service != service:
            continue
        operation = service_paths.get(route.upstream, {}).get(route.method.lower())
        if operation is not None:
            yield route.path, route.method.lower(), operation, route.scope
    for prefix in PREFIX_ROUTES:
        if prefix.service != service:
            continue
        for path, operations in service_paths.items():
            if prefix.matches(path):
                for method, operation in operations.items():
                    if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                        yield path, method, operation, prefix.scope(method.upper())


def _secured(operation: dict, scope: Scope) -> dict:
    operation = copy.deepcopy(operation)
    operation["security"] = [{"oauth2": [scope.value]}, {"session": []}]
    operation["description"] = (operation.get("description", "") + f"\n\nScope: `{scope.value}`.").strip()
    # Each operation keeps its service's id, made unique across services by the path.
    operation.pop("operationId", None)
    return operation


def _prefix_conflicting(doc: dict, schemas: dict, service: str) -> dict:
    """The service's document with schemas that clash with already merged ones renamed `service__Name`."""
    theirs = doc.get("components", {}).get("schemas", {})
    clashes = [name for name, schema in theirs.items() if name in schemas and schemas[name] != schema]
    if not clashes:
        return doc
    text = orjson.dumps(doc).decode()
    for name in clashes:
        text = text.replace(f'"{_REF}{name}"', f'"{_REF}{service}__{name}"')
    doc = orjson.loads(text)
    components = doc["components"]["schemas"]
    for name in clashes:
        components[f"{service}__{name}"] = components.pop(name)
    return doc
