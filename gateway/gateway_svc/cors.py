"""CORS for the configured origins (CORS_ORIGINS): what a dashboard's page on another origin may send and read.

Starlette's middleware, with exact origins only (settings refuse `*` and patterns) and no credentials: a
dashboard calls with a bearer token; the session cookie is the console's, on the gateway's own origin. An origin
not in the list is answered as if CORS did not exist — no `Access-Control-*` header at all, and a preflight
from it is a bare 400 — so nothing about the policy is told to a page that may not use it.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "Accept-Language",
    "X-CSRF-Token",
    "X-Request-ID",
    "If-None-Match",
]
# What a dashboard reads besides the safelisted headers: when to retry, a download's file name, the request id
# to quote, a static answer's tag, why a token was refused.
EXPOSED_HEADERS = ["Retry-After", "Content-Disposition", "X-Request-ID", "ETag", "WWW-Authenticate"]
MAX_AGE = 600


class ExactOriginCORS(CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self.is_allowed_origin(origin):
                if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                    await PlainTextResponse("Disallowed CORS origin", status_code=400)(scope, receive, send)
                else:
                    await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Outermost (add it last): a preflight is answered before anything else, and refusals (401, 429) carry
    the headers too, so a dashboard can read them."""
    if origins:
        app.add_middleware(
            ExactOriginCORS,
            allow_origins=origins,
            allow_credentials=False,
            allow_methods=METHODS,
            allow_headers=REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=MAX_AGE,
        )
