"""The console reads and writes through the gateway's own public API, as the signed-in person: an in-process
client (no network) carrying the person's session cookie and, for writes, the session's CSRF token and this
site's Origin. So scoping, masking and the personal-data access log are exactly the API's — one place for
each rule — and a refusal comes back as the API's answer, which a page shows as a section in Chinese.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from fastapi import Request

from gateway_svc import sessions

# The address the in-process requests are made to: the Origin of a write is this address, so the session's
# check (`sessions.origin_allowed`: the Origin is the address the request was sent to) holds.
INTERNAL = "http://console.internal"

# What a page says for an API refusal, by status (and, for 403/404, what was asked for).
REFUSALS = {
    401: "登录已超时，请重新登录。",
    403: "无权查看：该内容不在您的辖区或权限范围内。",
    404: "未找到，或不在您的辖区内。",
    409: "操作与当前状态冲突，请刷新后重试。",
    413: "文件过大。",
    422: "请求的参数有误，请检查后重试。",
    429: "操作过于频繁，请稍后再试。",
}
UNAVAILABLE = "相关服务暂时不可用，请稍后再试。"


@dataclass(frozen=True)
class Answer:
    status: int
    content: bytes
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def body(self) -> Any:
        if not self.headers.get("content-type", "").startswith("application/json"):
            return None
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError:
            return None

    def refusal(self, **by_status: str) -> str:
        """The page's words for this refusal: `by_status` first (`s404="该人员不在您的辖区内"`), then the
        usual ones; the API's own message is never shown as is (it is English)."""
        return by_status.get(f"s{self.status}") or REFUSALS.get(self.status) or UNAVAILABLE


class PersonApi:
    """The public API as one signed-in person (their session id from the cookie)."""

    def __init__(self, client: httpx.AsyncClient, csrf_token: str) -> None:
        self._client = client
        self._csrf = csrf_token

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return await self._send("GET", path, params=clean)

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Answer:
        """A write (`files` and `data`: a multipart form, as an attachment's upload)."""
        writes = {"Origin": INTERNAL, sessions.CSRF_HEADER: self._csrf, **(headers or {})}
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        options: dict[str, Any] = (
            {"json": json, "content": content} if files is None else {"data": data, "files": files}
        )
        return await self._send(method, path, params=clean, headers=writes, **options)

    async def _send(self, method: str, path: str, **options: Any) -> Answer:
        try:
            response = await self._client.request(method, path, **options)
        except httpx.HTTPError:
            return Answer(503, b"", {})
        return Answer(response.status_code, response.content, response.headers)


@asynccontextmanager
async def person_api(request: Request, cookie: str, session_id: str, csrf_token: str) -> AsyncIterator[PersonApi]:
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(
        transport=transport, base_url=INTERNAL, headers={"Cookie": f"{cookie}={session_id}"}, timeout=60.0
    ) as client:
        yield PersonApi(client, csrf_token)
