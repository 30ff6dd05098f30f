"""The console's pages: sign-in (登录), the password change a one-time password
leads to, sign-out (the working pages, 概览 first: views.py). Pages are for people: not in the API description. Each answer carries the security headers
(`SecurityHeaders`): a strict CSP (this origin only, no inline script), no framing, no referrer beyond this site,
and pages are never cached.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway_svc import accounts, sessions
from gateway_svc.deps import RuntimeDep
from gateway_svc.roles import Role
from kernel.regions import region_full_name
from kernel.values import CHINA

HERE = Path(__file__).parent
STATIC = HERE / "static"
PREFIX = "/console"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True
)

ROLE_LABELS = {
    Role.province_admin: "省级管理员",
    Role.city_officer: "盟市工作人员",
    Role.county_officer: "旗县区工作人员",
    Role.registry_feed: "住建数据报送",
    Role.insurance_feed: "社保中心数据报送",
    Role.fund_feed: "公积金中心数据报送",
    Role.dashboard: "数据看板（只读）",
}

# The sign-in page's words for each refusal type the session endpoint answers (`?error=`).
ERRORS = {
    "invalid_credentials": "用户名或密码错误。",
    "totp_required": "该账户已启用动态验证码，请输入验证器应用显示的 6 位数字。",
    "totp_invalid": "动态验证码错误或已被使用，请等待下一个验证码后重试。",
    "account_locked": "登录失败次数过多，账户已被暂时锁定。",
    "rate_limited": "尝试过于频繁，请稍后再试。",
    "csrf_failed": "请求来源无法验证，请刷新页面后重试。",
    "password_policy": "新密码不符合要求：至少 12 位，包含大写字母、小写字母、数字、符号中的至少三类，不能包含用户名，不能是常见密码，且不能与原密码相同。",
    "value_error": "请填写所有必填项。",
    "missing": "请填写所有必填项。",
    "oidc_no_account": "统一身份认证成功，但没有与之绑定的账户，请联系省级管理员开通。",
    "oidc_denied": "统一身份认证已取消。",
    "oidc_state": "登录请求已过期，请重新登录。",
    "oidc_provider_unavailable": "统一身份认证服务暂时不可用，请稍后再试。",
    "oidc_token_exchange": "统一身份认证未能完成，请重新登录。",
    "oidc_id_token": "统一身份认证返回的凭证无效，请重新登录。",
    "oidc_issuer_mismatch": "统一身份认证配置有误，请联系管理员。",
    "oidc_bad_response": "统一身份认证返回的结果无效，请重新登录。",
    "signed_out": "您已安全退出。",
    "session_ended": "登录已超时，请重新登录。",
}
NOTICES = {"signed_out", "session_ended"}


def _regions(codes: tuple[str, ...]) -> str:
    """150100 → 内蒙古自治区呼和浩特市（150100）: the names an officer knows, with the codes."""
    return "、".join(f"{region_full_name(code)}（{code}）" for code in codes)


def _page(name: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context))


async def _session(request: Request, runtime: RuntimeDep) -> sessions.Session | None:
    session_id = sessions.session_id_of(request, runtime.settings)
    if session_id is None:
        return None
    async with accounts.own_transaction(runtime.db) as pg:
        return await sessions.current(pg, runtime.settings, session_id)


# `?error=` (and a lockout's `until`): what the page was sent back with (account_api's form answers).
ErrorCode = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")]
Until = Annotated[str | None, Query(max_length=64)]


def _error(code: str | None, until: str | None = None) -> tuple[str | None, bool]:
    if not code:
        return None, False
    message = ERRORS.get(code, "登录失败，请重试。")
    if code == "account_locked" and until:
        with contextlib.suppress(ValueError):
            message += f"请于 {datetime.fromisoformat(until).astimezone(CHINA):%H:%M}（北京时间）后再试。"
    return message, code in NOTICES


@router.get("/login")
async def login(request: Request, runtime: RuntimeDep, error: ErrorCode = None, until: Until = None) -> Response:
    if error is None and await _session(request, runtime) is not None:
        return RedirectResponse(f"{PREFIX}/", status_code=303)
    message, notice = _error(error, until)
    settings = runtime.settings
    return _page(
        "login.html",
        error=None if notice else message,
        notice=message if notice else None,
        oidc_label=settings.oidc_label if settings.oidc_issuer else None,
    )


@router.get("/password")
async def password_page(request: Request, runtime: RuntimeDep, error: ErrorCode = None) -> Response:
    session = await _session(request, runtime)
    if session is None:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)
    message, _ = _error(error)
    return _page("password.html", account=session.account, csrf_token=session.csrf_token, error=message)


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep) -> Response:
    """The sign-out button: a form with the session's CSRF token, from this site only."""
    session = await _session(request, runtime)
    if session is not None:
        body = (await request.body())[:4096].decode("utf-8", "replace")
        sent = parse_qs(body).get(sessions.CSRF_FIELD, [None])[0]
        if not sessions.origin_allowed(request, runtime.settings) or not sessions.token_matches(
            session.csrf_token, sent
        ):
            return _page("login.html", error=ERRORS["csrf_failed"], notice=None, oidc_label=None)
        async with accounts.own_transaction(runtime.db) as pg:
            await sessions.revoke(pg, session.session_hash)
    response = RedirectResponse(f"{PREFIX}/login?error=signed_out", status_code=303)
    sessions.clear_cookie(response, runtime.settings)
    return response


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]


class SecurityHeaders:
    """The console's answers get the headers above; its pages (not its static files) `Cache-Control: no-store`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith(f"{PREFIX}/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or static]
                headers += _HEADERS
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
