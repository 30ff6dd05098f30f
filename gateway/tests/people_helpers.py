"""People in the gateway's tests: accounts made straight in its database, browser-like clients (a cookie jar,
no credential of their own), signing in, and the headers of a signed-in browser's writes."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import httpx
from fastapi import FastAPI

from gateway_svc.roles import Role, Scope

ORIGIN = "http://gateway.test"  # the address the in-process gateway is reached at (its own origin)
PASSWORD = "Qingcheng-2026!"  # meets the policy; every test account's unless it says otherwise


@dataclass
class Site:
    """A gateway running in-process (lifespan included) and its database: clients as a browser would be."""

    app: FastAPI
    database_url: str

    def browser(self, **headers: str) -> httpx.AsyncClient:
        """A client with a cookie jar and no credential of its own (the tests' service credential would win)."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=ORIGIN, headers=headers, timeout=60
        )

    async def account(
        self,
        username: str,
        role: Role,
        regions: list[str],
        *,
        password: str | None = PASSWORD,
        display_name: str = "王建军",
        extra_scopes: tuple[Scope, ...] = (),
        acts_for: str | None = None,
        oidc_subject: str | None = None,
        must_change_password: bool = False,
    ) -> None:
        from gateway_svc import accounts

        pg = await asyncpg.connect(self.database_url)
        try:
            await accounts.create(
                pg, username=username, display_name=display_name, role=role, regions=regions,
                extra_scopes=extra_scopes, acts_for=acts_for, oidc_subject=oidc_subject, password=password,
                must_change_password=must_change_password, actor="tests",
            )  # fmt: skip
        finally:
            await pg.close()

    async def sql(self, query: str, *args: object) -> list[asyncpg.Record]:
        pg = await asyncpg.connect(self.database_url)
        try:
            return await pg.fetch(query, *args)
        finally:
            await pg.close()


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD, **more: str) -> dict:
    """Signs `client` in (its cookie jar keeps the session); the `me` answer, with the CSRF token."""
    response = await client.post(
        "/api/v1/auth/session", json={"username": username, "password": password, **more}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 200, response.text
    return response.json()


def writes(me: dict) -> dict[str, str]:
    """The headers of a write by a signed-in browser: its site and the session's CSRF token."""
    return {"Origin": ORIGIN, "X-CSRF-Token": me["csrf_token"]}
