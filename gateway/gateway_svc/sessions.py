"""Browser sessions of signed-in people: an opaque random id in an HttpOnly, SameSite=Strict cookie (Secure and
`__Host-` outside development), kept server-side only as its SHA-256, with idle and absolute expiry; a
synchronizer CSRF token per session for every cookie-authenticated write; revoked on sign-out, on a password
change and when the account is disabled (a disabled account's sessions are refused at once anyway: each
request reads the account with its session, so a change of role or regions applies at once too).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import asyncpg
from fastapi import Request, Response

from gateway_svc.accounts import COLUMNS, Account
from gateway_svc.settings import GatewaySettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    session_hash: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    via: str
    account: Account


async def create(pg: asyncpg.Connection, settings: GatewaySettings, username: str, via: str) -> tuple[str, Session]:
    """A new session for `username`: its id (for the cookie, never stored) and the session."""
    session_id = secrets.token_urlsafe(32)
    # The account's sessions that ended long ago go (the table holds live sessions and a month of ended ones).
    await pg.execute(
        "DELETE FROM sessions WHERE username = $1 AND LEAST(COALESCE(revoked_at, expires_at), expires_at) "
        "< now() - interval '30 days'",
        username,
    )
    row = await pg.fetchrow(
        "INSERT INTO sessions (session_hash, username, csrf_token, via, expires_at) "
        "VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5)) "
        "RETURNING session_hash, csrf_token, created_at, last_seen_at, expires_at, via",
        digest(session_id),
        username,
        secrets.token_urlsafe(32),
        via,
        settings.session_absolute_hours,
    )
    account = await pg.fetchrow(f"SELECT {COLUMNS} FROM accounts WHERE username = $1", username)
    return session_id, Session(**dict(row), account=Account.of(account))


async def current(pg: asyncpg.Connection, settings: GatewaySettings, session_id: str) -> Session | None:
    """The live session of this id, its use noted (the idle clock restarts); None when it is unknown, revoked,
    idle too long, past its absolute expiry, or its account is disabled."""
    row = await pg.fetchrow(
        "WITH live AS (UPDATE sessions SET last_seen_at = now() WHERE session_hash = $1 AND revoked_at IS NULL "
        "AND expires_at > now() AND last_seen_at > now() - make_interval(mins => $2) "
        "RETURNING session_hash, csrf_token, created_at, last_seen_at, expires_at, via, username) "
        "SELECT live.session_hash AS s_session_hash, live.csrf_token AS s_csrf_token, live.created_at AS s_created_at, "
        "live.last_seen_at AS s_last_seen_at, live.expires_at AS s_expires_at, live.via AS s_via, "
        f"{', '.join('a.' + c.strip() for c in COLUMNS.split(','))} "
        "FROM live JOIN accounts a USING (username) WHERE NOT a.disabled",
        digest(session_id),
        settings.session_idle_minutes,
    )
    if row is None:
        return None
    values = dict(row)
    session = {key.removeprefix("s_"): values.pop(key) for key in list(values) if key.startswith("s_")}
    return Session(**session, account=Account.of(values))


async def revoke(pg: asyncpg.Connection, session_hash: str) -> None:
    await pg.execute(
        "UPDATE sessions SET revoked_at = now() WHERE session_hash = $1 AND revoked_at IS NULL", session_hash
    )


async def revoke_all(pg: asyncpg.Connection, username: str) -> None:
    await pg.execute("UPDATE sessions SET revoked_at = now() WHERE username = $1 AND revoked_at IS NULL", username)


def session_id_of(request: Request, settings: GatewaySettings) -> str | None:
    value = request.cookies.get(settings.session_cookie)
    return value if value and 20 <= len(value) <= 128 else None


def set_cookie(response: Response, settings: GatewaySettings, session_id: str) -> None:
    # No Max-Age: the browser forgets it when closed; the server ends it by its own clocks anyway.
    response.set_cookie(
        settings.session_cookie, session_id, path="/", secure=settings.secure_cookies, httponly=True, samesite="strict"
    )


def clear_cookie(response: Response, settings: GatewaySettings) -> None:
    response.delete_cookie(
        settings.session_cookie, path="/", secure=settings.secure_cookies, httponly=True, samesite="strict"
    )


def token_matches(expected: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(expected.encode(), sent.encode())


def origin_allowed(request: Request, settings: GatewaySettings) -> bool:
    """Whether a cookie-authenticated write comes from the gateway's own pages: its Origin (or, without one, its
    Referer's origin) is the address the request was sent to, or one of PUBLIC_ORIGINS. Neither header: no."""
    sent = request.headers.get("origin")
    if sent is None or sent == "null":
        referer = request.headers.get("referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        sent = f"{parts.scheme}://{parts.netloc}"
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return sent == own or sent in settings.public_origins
