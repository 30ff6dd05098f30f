"""The gateway's refusals (401, 403, 404, 413, 429, 503, 504): the suite's error shape, plus the headers
each status calls for, and one log line per refusal (never with personal data)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kernel.errors import DomainError, error_body

log = logging.getLogger(__name__)


class Refusal(DomainError):
    headers: Mapping[str, str] = {}

    def __init__(self, msg: str, *, headers: Mapping[str, str] | None = None, **kwargs) -> None:
        super().__init__(msg, **kwargs)
        if headers is not None:
            self.headers = headers


class Unauthenticated(Refusal):
    status_code = 401
    error_type = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="guazheng"'}


class InsufficientScope(Refusal):
    status_code = 403
    error_type = "insufficient_scope"


class NoRoute(Refusal):
    status_code = 404
    error_type = "not_found"


class BodyTooLarge(Refusal):
    status_code = 413
    error_type = "payload_too_large"


class RateLimited(Refusal):
    status_code = 429
    error_type = "rate_limited"


class ServiceDown(Refusal):
    status_code = 503
    error_type = "unavailable"
    headers = {"Retry-After": "5"}


class ServiceTimeout(Refusal):
    status_code = 504
    error_type = "upstream_timeout"


def log_refusal(request: Request, status: int, reason: str) -> None:
    """One line per refused request: who, what route, why. The path holds pseudonyms at most, and
    the log formatter masks anything shaped like an ID number anyway."""
    caller = getattr(request.state, "caller", None)
    log.warning(
        "request refused",
        extra={
            "status": status,
            "reason": reason,
            "method": request.method,
            "path": request.url.path,
            "client_id": caller.client_id if caller else None,
            "role": caller.role if caller else None,
        },
    )


def install_refusal_handler(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def _refusal(request: Request, exc: Refusal) -> JSONResponse:
        log_refusal(request, exc.status_code, exc.error_type)
        return JSONResponse(error_body(exc.detail()), status_code=exc.status_code, headers=dict(exc.headers))
