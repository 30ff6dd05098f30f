"""One error model for every service: domain errors raised deep down, mapped to HTTP once per app.

Every error body has FastAPI's validation shape, `{"detail": [{"type", "msg", "loc"}]}`, and never
echoes the request's input back (it may hold an ID number).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


class DomainError(Exception):
    status_code = 400
    error_type = "bad_request"

    def __init__(self, msg: str, *, loc: Sequence[str | int] = (), error_type: str | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.loc = list(loc)
        if error_type:
            self.error_type = error_type

    def detail(self) -> list[dict]:
        return [{"type": self.error_type, "msg": self.msg, "loc": self.loc}]


class Invalid(DomainError):
    """A well-formed request whose content is not acceptable (FastAPI's 422, in the same shape)."""

    status_code = 422
    error_type = "value_error"


class Forbidden(DomainError):
    """The caller may not do this (for objects outside its regions, answer NotFound instead)."""

    status_code = 403
    error_type = "forbidden"


class NotFound(DomainError):
    status_code = 404
    error_type = "not_found"


class Conflict(DomainError):
    status_code = 409
    error_type = "conflict"


class UnsupportedMediaType(DomainError):
    status_code = 415
    error_type = "unsupported_media_type"


class Unavailable(DomainError):
    status_code = 503
    error_type = "unavailable"


def error_body(detail: list[dict]) -> dict:
    return {"detail": detail}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.detail()), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"type": e["type"], "msg": e["msg"], "loc": list(e["loc"])} for e in exc.errors()]
        return JSONResponse(error_body(detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = [{"type": "http_error", "msg": str(exc.detail), "loc": []}]
        return JSONResponse(error_body(detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        # The caller went away mid-body (an upload aborted, a gateway limit hit): nothing was stored and
        # nobody reads the answer; not an error of ours.
        log.info("client disconnected before the request body ended", extra={"path": request.url.path})
        detail = [{"type": "client_disconnected", "msg": "the request body did not end", "loc": ["body"]}]
        return JSONResponse(error_body(detail), status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        detail = [{"type": "internal_error", "msg": "internal error; quote the request id", "loc": []}]
        return JSONResponse(error_body(detail), status_code=500)


class RejectNulMiddleware:
    """Refuses a URL with a NUL character (`%00`) in its path or query with a 422: PostgreSQL text cannot
    hold one, so such a value would otherwise fail deep in a query instead of being refused here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = "path" if "\x00" in scope["path"] else "query" if b"%00" in scope["query_string"] else None
            if where:
                detail = [{"type": "value_error", "msg": "a URL cannot contain a NUL character (%00)", "loc": [where]}]
                await JSONResponse(error_body(detail), status_code=422)(scope, receive, send)
                return
        await self.app(scope, receive, send)
