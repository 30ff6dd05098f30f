"""Officers' accounts: people who sign in as themselves (账户). Roles, regions and extra scopes follow the
clients' rules (clients.py); a bureau's person acts for its feed client. Passwords are argon2id hashes
under a policy, repeated failures lock the account for a while, a TOTP second factor is optional, and
every change is appended to `account_changes` with who made it.

The queries take an asyncpg connection from the caller (a route's transaction, or `own_transaction`).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway_svc.clients import Client
from gateway_svc.refusals import AccountLocked, SignInRefused
from gateway_svc.roles import FEED_ROLES, GRANTABLE, ROLE_SCOPES, Role, Scope
from gateway_svc.settings import GatewaySettings
from kernel.db import Database, driver_connection
from kernel.errors import Conflict, Forbidden, Invalid
from kernel.logs import request_id
from kernel.privacy import FieldCipher
from kernel.scope import EVERYWHERE, RegionScope

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"
MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "挂证专项治理"

# Passwords people choose first (and their Chinese-keyboard favourites): refused whatever their length.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012", "1234567890ab", "password1234", "password@123", "passw0rd1234", "qwertyuiop12",
        "qwerty123456", "1qaz2wsx3edc", "1q2w3e4r5t6y", "abc123456789", "admin1234567", "admin@123456",
        "welcome12345", "iloveyou1234", "woaini123456", "woaini520520", "a123456789012", "aa1234567890",
        "p@ssw0rd1234", "p@ssword1234", "zaq12wsxcde3", "changeme1234", "letmein12345", "123qweasdzxc",
        "qweasdzxc123", "1qaz@wsx3edc", "1qaz!qaz1qaz", "abcd12345678", "abcd@1234567", "huawei123456",
    }
)  # fmt: skip

_hasher = PasswordHasher()  # argon2id with argon2-cffi's defaults
_DUMMY_HASH = _hasher.hash("no-such-account-dummy-password")


# --- passwords ----------------------------------------------------------------------------------


def password_problems(password: str, username: str) -> list[str]:
    """Why a password is refused (Chinese, then English), or nothing."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少 {MIN_PASSWORD_LENGTH} 位 (at least {MIN_PASSWORD_LENGTH} characters)")
    classes = sum(bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]"))
    if classes < 3:
        problems.append(
            "密码须包含大写字母、小写字母、数字、符号中的至少三类 (at least 3 of: lower case, upper case, digits, symbols)"
        )
    folded = password.casefold()
    if username and username.casefold() in folded:
        problems.append("密码不能包含用户名 (the password may not contain the username)")
    if folded in COMMON_PASSWORDS:
        problems.append("密码过于常见 (a common password)")
    return problems


def check_password_policy(password: str, username: str, field: str = "new_password") -> None:
    if problems := password_problems(password, username):
        raise Invalid("；".join(problems), loc=["body", field], error_type="password_policy")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the hash's; an account without a password is checked against a dummy hash, so
    the answer takes as long either way (slow on purpose: run it off the event loop)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I


def one_time_password() -> str:
    """A fresh password meeting the policy, in groups easy to read out: `Xk7p-3mQa-Rt9w-bN4e`."""
    while True:
        candidate = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
        if not password_problems(candidate, ""):
            return candidate


# --- TOTP ---------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def provisioning_qr(uri: str) -> str:
    """The otpauth:// address as a QR code for an authenticator app to scan: an inline SVG drawn by segno, with
    no XML declaration and no style attribute (classes `totp-qr` and `totp-qr-line`: the console's CSP), its
    size left to the page (a viewBox only), dark modules on a white quiet zone."""
    qr = segno.make_qr(uri, error="m")
    return qr.svg_inline(
        scale=4, border=4, dark="#000", light="#fff", svgclass="totp-qr", lineclass="totp-qr-line", omitsize=True
    )


def totp_step(secret: str, code: str, last_step: int | None, *, at: datetime | None = None) -> int | None:
    """The time step of `code` when it is valid now or one step either side (valid_window 1) and later than
    the last code used (no replay); None otherwise."""
    code = code.strip().replace(" ", "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at or datetime.now())
    for step in (now - 1, now, now + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def seal(cipher: FieldCipher, secret: str) -> str:
    key_id, blob = cipher.encrypt(secret)
    return f"{key_id}:{base64.b64encode(blob).decode()}"


def unseal(cipher: FieldCipher, sealed: str) -> str:
    key_id, _, blob = sealed.partition(":")
    return cipher.decrypt(key_id, base64.b64decode(blob))


# --- the account --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: Role
    regions: tuple[str, ...]
    extra_scopes: tuple[Scope, ...]
    acts_for: str | None
    password_hash: str | None
    must_change_password: bool
    failed_attempts: int
    locked_until: datetime | None
    totp_secret: str | None
    totp_pending: str | None
    totp_last_step: int | None
    oidc_subject: str | None
    disabled: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    password_changed_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Account:
        values = dict(row)
        values["role"] = Role(values["role"])
        values["regions"] = tuple(values["regions"])
        values["extra_scopes"] = tuple(Scope(s) for s in values["extra_scopes"])
        return cls(**values)

    @property
    def scopes(self) -> frozenset[Scope]:
        return ROLE_SCOPES[self.role] | set(self.extra_scopes)

    @property
    def region_scope(self) -> tuple[str, ...]:
        return (EVERYWHERE,) if EVERYWHERE in self.regions else self.regions

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def public(self) -> dict[str, object]:
        """What an administrator (and the account's person) may read: never a hash or a secret."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "regions": list(self.regions),
            "extra_scopes": [s.value for s in self.extra_scopes],
            "acts_for": self.acts_for,
            "oidc_subject": self.oidc_subject,
            "disabled": self.disabled,
            "must_change_password": self.must_change_password,
            "totp_enabled": self.totp_enabled,
            "locked_until": self.locked_until if self.locked(datetime.now(self.created_at.tzinfo)) else None,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


COLUMNS = (
    "username, display_name, role, regions, extra_scopes, acts_for, password_hash, must_change_password, "
    "failed_attempts, locked_until, totp_secret, totp_pending, totp_last_step, oidc_subject, disabled, "
    "created_at, created_by, updated_at, updated_by, password_changed_at"
)


@asynccontextmanager
async def own_transaction(db: Database) -> AsyncIterator[asyncpg.Connection]:
    async with db.transaction() as conn:
        yield await driver_connection(conn)


async def get(pg: asyncpg.Connection, username: str, *, for_update: bool = False) -> Account | None:
    row = await pg.fetchrow(
        f"SELECT {COLUMNS} FROM accounts WHERE username = $1{' FOR UPDATE' if for_update else ''}", username
    )
    return Account.of(row) if row else None


async def officers(db: Database, clients: Mapping[str, Client], usernames: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The regions of those named who may work cases — active officers' accounts, and machine clients (a
    provincial platform working cases under its client id) whose role works cases: what the gateway vouches
    for when a request gives cases to officers (routing.Kind.assignment). Anyone else named is left out, and
    case-svc refuses to give them a case."""
    wanted = sorted(set(usernames))
    if not wanted:
        return {}
    working = [role for role, scopes in ROLE_SCOPES.items() if Scope.cases_write in scopes]
    found = {name: tuple(c.regions) for name in wanted if (c := clients.get(name)) and c.role in working}
    async with own_transaction(db) as pg:
        rows = await pg.fetch(
            "SELECT username, regions FROM accounts WHERE username = ANY($1) AND NOT disabled AND role = ANY($2)",
            wanted,
            [role.value for role in working],
        )
    return found | {row["username"]: tuple(row["regions"]) for row in rows}


async def by_subject(pg: asyncpg.Connection, subject: str) -> Account | None:
    row = await pg.fetchrow(f"SELECT {COLUMNS} FROM accounts WHERE oidc_subject = $1", subject)
    return Account.of(row) if row else None


async def record_change(
    pg: asyncpg.Connection, username: str, actor: str, action: str, changes: dict[str, object] | None = None
) -> None:
    await pg.execute(
        # As text, cast by the server: the same with or without a JSON codec on the connection.
        "INSERT INTO account_changes (username, actor, action, changes, request_id) "
        "VALUES ($1, $2, $3, $4::text::jsonb, $5)",
        username,
        actor,
        action,
        orjson.dumps(changes or {}, default=str).decode(),
        request_id.get(),
    )


async def history(pg: asyncpg.Connection, username: str, *, before: int | None, limit: int) -> list[asyncpg.Record]:
    return await pg.fetch(
        "SELECT change_id, at, username, actor, action, changes::text AS changes FROM account_changes WHERE username = $1 "
        "AND ($2::bigint IS NULL OR change_id < $2) ORDER BY change_id DESC LIMIT $3",
        username,
        before,
        limit,
    )


async def listed(pg: asyncpg.Connection, *, after: str | None) -> list[Account]:
    """Every account after `after`, by username (an administrator's view filters them by region)."""
    rows = await pg.fetch(
        f"SELECT {COLUMNS} FROM accounts WHERE ($1::text IS NULL OR username > $1) ORDER BY username", after
    )
    return [Account.of(row) for row in rows]


# --- rules of an account's role, regions and scopes ----------------------------------------------


def manages(admin_regions: Sequence[str], account_regions: Iterable[str]) -> bool:
    """Whether an administrator of `admin_regions` manages an account of `account_regions`: every one of
    the account's regions lies within the administrator's (everywhere only for an unrestricted one)."""
    scope = RegionScope.of(admin_regions)
    return all(scope.allows(code) for code in account_regions)


def check_shape(
    *,
    role: Role,
    regions: Sequence[str],
    extra_scopes: Sequence[Scope],
    acts_for: str | None,
    clients: dict[str, Client],
) -> None:
    """The clients' rules for role, regions and scopes; a feed role acts for a configured client of that role
    whose regions hold the account's."""
    if not regions:
        raise Invalid("an account needs at least one region", loc=["body", "regions"])
    for code in regions:
        if not re.fullmatch(r"\d{6}", code):
            raise Invalid("a region is a 6-digit division code", loc=["body", "regions"])
    if not set(extra_scopes) <= GRANTABLE:
        raise Invalid(f"only {sorted(GRANTABLE)} may be granted on top of a role", loc=["body", "extra_scopes"])
    if role in FEED_ROLES:
        client = clients.get(acts_for or "")
        if client is None or client.role is not role:
            raise Invalid(
                f"a {role.value} account acts for a configured {role.value} client (acts_for)",
                loc=["body", "acts_for"],
            )
        if not manages(client.regions, regions):
            raise Invalid("the account's regions must lie within its client's", loc=["body", "regions"])
    elif acts_for is not None:
        raise Invalid("only a feed role acts for a client", loc=["body", "acts_for"])


def require_manages(admin_regions: Sequence[str], regions: Iterable[str], loc: list[str | int]) -> None:
    if not manages(admin_regions, regions):
        raise Forbidden("the region is outside your regions", loc=loc)


async def create(
    pg: asyncpg.Connection,
    *,
    username: str,
    display_name: str,
    role: Role,
    regions: Sequence[str],
    extra_scopes: Sequence[Scope] = (),
    acts_for: str | None = None,
    oidc_subject: str | None = None,
    password: str | None,
    must_change_password: bool,
    actor: str,
) -> Account:
    """A new account (409 when the username or the identity-provider subject is taken)."""
    password_hash = await asyncio.to_thread(hash_password, password) if password is not None else None
    try:
        row = await pg.fetchrow(
            "INSERT INTO accounts (username, display_name, role, regions, extra_scopes, acts_for, oidc_subject, "
            "password_hash, must_change_password, password_changed_at, created_by, updated_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $8::text IS NULL THEN NULL ELSE now() END, "
            f"$10, $10) RETURNING {COLUMNS}",
            username,
            display_name,
            role.value,
            list(regions),
            [s.value for s in extra_scopes],
            acts_for,
            oidc_subject,
            password_hash,
            must_change_password,
            actor,
        )
    except asyncpg.UniqueViolationError as exc:
        what = "identity-provider subject" if "oidc_subject" in str(exc) else "username"
        raise Conflict(
            f"this {what} is taken", loc=["body", "oidc_subject" if "oidc" in what else "username"]
        ) from None
    account = Account.of(row)
    await record_change(pg, username, actor, "created", _diff(None, account))
    return account


# The columns an administrator's change may set, as `update` takes them.
EDITABLE = ("display_name", "role", "regions", "extra_scopes", "acts_for", "oidc_subject", "disabled")


async def update(pg: asyncpg.Connection, account: Account, *, actor: str, action: str, **values: object) -> Account:
    """Sets `values` (columns of `accounts`), records the change with its old → new values; no-op when
    nothing changes. Hashes and secrets are recorded only as having changed."""
    if not values:
        return account
    names = list(values)
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=3))
    try:
        row = await pg.fetchrow(
            f"UPDATE accounts SET {assignments}, updated_at = now(), updated_by = $2 WHERE username = $1 "
            f"RETURNING {COLUMNS}",
            account.username,
            actor,
            *(_column_value(values[name]) for name in names),
        )
    except asyncpg.UniqueViolationError:  # only the identity-provider subject is unique besides the name
        raise Conflict("this identity-provider subject is another account's", loc=["body", "oidc_subject"]) from None
    updated = Account.of(row)
    changes = _diff(account, updated)
    for secret in ("password_hash", "totp_secret", "totp_pending"):
        if secret in values:
            changes[secret] = "changed" if values[secret] is not None else "removed"
    if changes:
        await record_change(pg, account.username, actor, action, changes)
    return updated


def _column_value(value: object) -> object:
    if isinstance(value, Role | Scope):
        return value.value
    if isinstance(value, tuple | list):
        return [v.value if isinstance(v, Scope) else v for v in value]
    return value


_AUDITED = ("display_name", "role", "regions", "extra_scopes", "acts_for", "oidc_subject", "disabled",
            "must_change_password", "locked_until", "totp_enabled")  # fmt: skip


def _diff(old: Account | None, new: Account) -> dict[str, object]:
    before = {} if old is None else _audited(old)
    after = _audited(new)
    return {key: {"old": before.get(key), "new": value} for key, value in after.items() if before.get(key) != value}


def _audited(account: Account) -> dict[str, object]:
    public = account.public() | {"locked_until": account.locked_until}
    return {key: public[key] for key in _AUDITED}


# --- signing in ---------------------------------------------------------------------------------


async def sign_in(
    db: Database,
    settings: GatewaySettings,
    cipher: FieldCipher,
    username: str,
    password: str,
    totp_code: str | None,
) -> Account:
    """The account whose password (and code, when it has TOTP) these are; otherwise SignInRefused (the same
    for an unknown username, a wrong password and a disabled account), AccountLocked, or a refusal of type
    `totp_required` / `totp_invalid`. Each wrong password or code counts toward the lockout."""
    async with own_transaction(db) as pg:
        account = await get(pg, username)
    # Verified whatever happens next, so every answer takes as long (a dummy hash for unknown names).
    good = await asyncio.to_thread(verify_password, account.password_hash if account else None, password)
    if account is None:
        raise SignInRefused()
    async with own_transaction(db) as pg:
        now = await pg.fetchval("SELECT now()")
        account = await get(pg, username, for_update=True)
        if account is None:
            raise SignInRefused()
        if account.locked(now):
            assert account.locked_until is not None
            raise AccountLocked(account.locked_until)
        step = None
        if good and account.totp_secret is not None:
            if not totp_code:
                raise SignInRefused("请输入动态验证码 (enter the one-time code of your authenticator)",
                                    error_type="totp_required")  # fmt: skip
            step = totp_step(unseal(cipher, account.totp_secret), totp_code, account.totp_last_step)
    if not good or (account.totp_secret is not None and step is None):
        await count_failure(db, settings, account)
        if good:  # the password was right, the code was not (or was used already)
            raise SignInRefused("动态验证码错误或已使用 (the one-time code is wrong or was used already)",
                                error_type="totp_invalid")  # fmt: skip
        raise SignInRefused()
    if account.disabled:
        raise SignInRefused()
    async with own_transaction(db) as pg:
        row = await pg.fetchrow(
            "UPDATE accounts SET failed_attempts = 0, locked_until = NULL, "
            "totp_last_step = COALESCE($2, totp_last_step) "
            "WHERE username = $1 AND ($2::bigint IS NULL OR totp_last_step IS NULL OR totp_last_step < $2) "
            f"RETURNING {COLUMNS}",
            username,
            step,
        )
        if row is None:  # the same code, used by a concurrent sign-in a moment ago
            raise SignInRefused("动态验证码错误或已使用 (the one-time code is wrong or was used already)",
                                error_type="totp_invalid")  # fmt: skip
        return Account.of(row)


async def count_failure(db: Database, settings: GatewaySettings, account: Account) -> None:
    """One more failure; the one that reaches the limit locks the account (and is answered 423)."""
    async with own_transaction(db) as pg:
        row = await pg.fetchrow(
            "UPDATE accounts SET "
            "locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN now() + make_interval(mins => $3) "
            "ELSE locked_until END, "
            "failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END "
            "WHERE username = $1 RETURNING failed_attempts, locked_until, locked_until > now() AS locked",
            account.username,
            settings.login_max_failures,
            settings.login_lockout_minutes,
        )
        if row is not None and row["locked"] and row["failed_attempts"] == 0:
            await record_change(
                pg, account.username, "gateway", "locked", {"locked_until": {"old": None, "new": row["locked_until"]}}
            )
    if row is not None and row["locked"] and row["failed_attempts"] == 0:
        raise AccountLocked(row["locked_until"])


async def change_password(db: Database, account: Account, new_password: str, *, actor: str) -> Account:
    check_password_policy(new_password, account.username)
    same = await asyncio.to_thread(verify_password, account.password_hash, new_password)
    if same:
        raise Invalid("新密码不能与原密码相同 (the new password must differ from the old one)",
                      loc=["body", "new_password"], error_type="password_policy")  # fmt: skip
    password_hash = await asyncio.to_thread(hash_password, new_password)
    async with own_transaction(db) as pg:
        current = await get(pg, account.username, for_update=True)
        assert current is not None
        updated = await update(
            pg, current, actor=actor, action="password_changed", password_hash=password_hash,
            must_change_password=False, password_changed_at=datetime.now(current.created_at.tzinfo),
        )  # fmt: skip
        await pg.execute(
            "UPDATE sessions SET revoked_at = now() WHERE username = $1 AND revoked_at IS NULL", account.username
        )
    return updated


def check_username(username: str, clients: dict[str, Client]) -> None:
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise Invalid(
            "a username is 3–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
            loc=["body", "username"],
        )
    if username in clients:  # the access log names both by the same column: never one name for two
        raise Conflict("this username is a client's id", loc=["body", "username"])


async def provision(
    database_url: str,
    clients: dict[str, Client],
    *,
    username: str,
    display_name: str,
    role: Role,
    regions: Sequence[str],
    extra_scopes: Sequence[Scope] = (),
    acts_for: str | None = None,
    oidc_subject: str | None = None,
    password: str | None = None,
    actor: str,
    replace: bool = False,
) -> tuple[Account, str]:
    """An account made outside the API (`suite account create`, the demo), checked by the same rules: with
    `password` as given and kept (the demo's), or a one-time password to be changed; returns it with the
    password. `replace` makes it again when it exists (the demo's accounts on every run)."""
    check_username(username, clients)
    check_shape(role=role, regions=regions, extra_scopes=extra_scopes, acts_for=acts_for, clients=clients)
    chosen = password or one_time_password()
    if password is not None:
        check_password_policy(password, username, "password")
    pg = await asyncpg.connect(database_url)
    try:
        async with pg.transaction():
            if replace and await get(pg, username) is not None:
                await pg.execute("DELETE FROM accounts WHERE username = $1", username)
                await record_change(pg, username, actor, "removed")
            account = await create(
                pg, username=username, display_name=display_name, role=role, regions=regions,
                extra_scopes=extra_scopes, acts_for=acts_for, oidc_subject=oidc_subject, password=chosen,
                must_change_password=password is None, actor=actor,
            )  # fmt: skip
    finally:
        await pg.close()
    return account, chosen
