"""The gateway's refusals (401, 403, 404, 413, 429, 503, 504): the kernel's errors (`kernel.errors`, one
JSON shape) plus the headers each status calls for, and one log line per refusal (never with personal data)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway_svc.ratelimit import RateLimiter
from gateway_svc.roles import Scope
from kernel.errors import DomainError, Forbidden, NotFound, Unavailable, error_body
from kernel.values import CHINA

log = logging.getLogger(__name__)

_BEARER = 'Bearer realm="guazheng"'
# How long a caller should wait before trying a service that is down again.
SERVICE_DOWN_RETRY_AFTER = "5"


class Refusal(DomainError):
    """A request the gateway turns away: logged by its handler, and answered with `headers` (and `extra`
    members beside `detail` in the body, such as a lockout's `locked_until`)."""

    def __init__(
        self,
        msg: str,
        *,
        headers: Mapping[str, str] | None = None,
        loc: Sequence[str | int] = (),
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(msg, loc=loc)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class Unauthenticated(Refusal):
    """No valid bearer token. `token_error` (RFC 6750 §3) says what was wrong with the one sent."""

    status_code = 401
    error_type = "unauthorized"

    def __init__(self, msg: str, *, token_error: str | None = None) -> None:
        challenge = f'{_BEARER}, error="{token_error}"' if token_error else _BEARER
        super().__init__(msg, headers={"WWW-Authenticate": challenge})


class InsufficientScope(Refusal, Forbidden):
    error_type = "insufficient_scope"

    def __init__(self, scope: Scope) -> None:
        super().__init__(
            f"this token lacks the scope {scope.value}",
            headers={"WWW-Authenticate": f'{_BEARER}, error="insufficient_scope", scope="{scope.value}"'},
        )


class SignInRefused(Refusal):
    """Unknown username, wrong password, disabled account: one answer for all (nothing is told apart)."""

    status_code = 401
    error_type = "invalid_credentials"

    def __init__(self, msg: str = "用户名或密码错误 (wrong username or password)", *, error_type: str | None = None):
        super().__init__(msg, loc=["body"])
        if error_type:
            self.error_type = error_type


class AccountLocked(Refusal):
    """Too many failed sign-ins in a row: refused until `locked_until`, whatever is sent."""

    status_code = 423
    error_type = "account_locked"

    def __init__(self, locked_until: datetime) -> None:
        wait = max(1, int((locked_until - datetime.now(UTC)).total_seconds()))
        local = locked_until.astimezone(CHINA).strftime("%H:%M")
        super().__init__(
            f"登录失败次数过多，账户已锁定至 {local}（北京时间）(too many failed sign-ins: locked until {locked_until.isoformat()})",
            headers={"Retry-After": str(wait)},
            loc=["body", "username"],
            extra={"locked_until": locked_until.isoformat()},
        )


class CsrfRefused(Refusal, Forbidden):
    """A write authenticated by the session cookie without its session's CSRF token, or from another origin."""

    error_type = "csrf_failed"


class PasswordChangeRequired(Refusal, Forbidden):
    error_type = "password_change_required"

    def __init__(self) -> None:
        super().__init__("请先修改初始密码 (change the one-time password first: POST /api/v1/auth/password)")


class NoRoute(Refusal, NotFound):
    """No such route, or an object the caller may not know of (unknown and forbidden look alike)."""


class BodyTooLarge(Refusal):
    status_code = 413
    error_type = "payload_too_large"


class RateLimited(Refusal):
    status_code = 429
    error_type = "rate_limited"

    def __init__(self, msg: str, *, wait: float) -> None:
        super().__init__(msg, headers={"Retry-After": RateLimiter.retry_after(wait)})


class ServiceDown(Refusal, Unavailable):
    def __init__(self, msg: str) -> None:
        super().__init__(msg, headers={"Retry-After": SERVICE_DOWN_RETRY_AFTER})


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
        return JSONResponse(error_body(exc.detail()) | exc.extra, status_code=exc.status_code, headers=exc.headers)
