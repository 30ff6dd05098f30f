"""People's sign-in and their accounts: the session (sign in, sign out, who am I), one's own password and
second factor, and the province administrators' management of accounts within their regions.

The sign-in and password routes take JSON (the API, the console's scripts) or a plain HTML form (the
console's pages work without script): a form is answered with a redirect to the next page, or back to its
page with the error's type (`?error=…`), which the page words in Chinese.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs, urlencode

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from gateway_svc import accounts, oidc, sessions
from gateway_svc.accounts import Account
from gateway_svc.deps import GatewayDep, RuntimeDep, authenticate, person, scoped
from gateway_svc.refusals import CsrfRefused, RateLimited, Refusal, log_refusal
from gateway_svc.roles import FEED_ROLES, Role, Scope
from gateway_svc.schemas import Account as AccountOut
from gateway_svc.schemas import (
    AccountChange,
    AccountIssued,
    AccountNew,
    AccountPatch,
    Me,
    PasswordChange,
    PasswordConfirm,
    SignIn,
    TotpCode,
    TotpDisable,
    TotpEnrolment,
)
from gateway_svc.tokens import Caller
from kernel.errors import DomainError, Forbidden, Invalid, NotFound
from kernel.paging import Cursor, Page, decode_cursor, encode_cursor
from kernel.service import accepts_any_query

PREFIX = "/api/v1"
router = APIRouter(prefix=PREFIX)
ModelT = TypeVar("ModelT", bound=BaseModel)

CONSOLE = "/console/"
LOGIN_PAGE = "/console/login"
PASSWORD_PAGE = "/console/password"
_FORM = "application/x-www-form-urlencoded"


def _json_or_form(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    example = schema.get("examples", [{}])[0]
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema, "example": example},
                _FORM: {"schema": schema, "example": urlencode(example)},
            },
        }
    }


async def _body(request: Request, model: type[ModelT]) -> ModelT:
    """The body as `model`, from JSON or a form; 422 in the suite's shape (a form's: `missing`)."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > 16_384:
            raise Invalid("the request is too large", loc=["body"])
    as_form = _is_form(request)
    try:
        if as_form:
            fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items() if len(v) == 1}
            fields.pop(sessions.CSRF_FIELD, None)
            return model.model_validate({k: v for k, v in fields.items() if v != "" or k == "password"})
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        if as_form:  # a page's form: its page says what is missing
            raise Invalid("a field is missing or too long", loc=["body"], error_type="missing") from None
        raise RequestValidationError(
            [{"type": e["type"], "msg": e["msg"], "loc": ["body", *e["loc"]]} for e in exc.errors()]
        ) from None


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(_FORM)


def _back_to(page: str, error: DomainError, **more: str) -> RedirectResponse:
    """A form's refusal: its page again, told which error to show."""
    return RedirectResponse(f"{page}?{urlencode({'error': error.error_type, **more})}", status_code=303)


def _me(caller: Caller, session: sessions.Session | None, idle_minutes: int) -> Me:
    account = session.account if session else None
    return Me(
        kind="person" if caller.is_person else "client",
        username=caller.client_id,
        display_name=account.display_name if account else None,
        role=caller.role,
        regions=list(caller.regions),
        scopes=sorted(caller.scopes),
        acts_for=caller.acts_for,
        must_change_password=account.must_change_password if account else False,
        totp_enabled=account.totp_enabled if account else False,
        csrf_token=session.csrf_token if session else None,
        session_expires_at=session.expires_at if session else None,
        idle_minutes=idle_minutes if session else None,
    )


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the session --------------------------------------------------------------------------------


@router.post(
    "/auth/session",
    response_model=Me,
    tags=["auth"],
    summary="Sign in as a person (sets the session cookie)",
    description="JSON or form: `username`, `password`, and `totp_code` when the account has a second factor. "
    "Sets an HttpOnly, SameSite=Strict session cookie; its writes need `X-CSRF-Token` (in the answer, and in "
    "`GET /api/v1/auth/me`). An unknown username and a wrong password get the same answer; after "
    "`LOGIN_MAX_FAILURES` failures in a row the account is locked for `LOGIN_LOCKOUT_MINUTES` (423 with "
    "`locked_until`). A form is answered with a redirect to the console.",
    openapi_extra=_json_or_form(SignIn),
    responses={
        401: {"description": "invalid_credentials, totp_required, totp_invalid"},
        423: {"description": "account_locked: `locked_until` and `Retry-After`"},
    },
)
async def sign_in(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> Response:
    settings = runtime.settings
    as_form = _is_form(request)
    try:
        if request.headers.get("origin") and not sessions.origin_allowed(request, settings):
            raise CsrfRefused("the sign-in does not come from this site (Origin)", loc=["header", "origin"])
        body = await _body(request, SignIn)
        # One bucket per account name tried, one for names that are not accounts' (memory stays bounded).
        async with accounts.own_transaction(runtime.db) as pg:
            known = await pg.fetchval("SELECT 1 FROM accounts WHERE username = $1", body.username)
        if (wait := gateway.limiter.take(f"login:{body.username if known else '?'}")) is not None:
            raise RateLimited("too many sign-in attempts; retry later", wait=wait)
        account = await accounts.sign_in(
            runtime.db, settings, runtime.cipher, body.username, body.password, body.totp_code
        )
    except DomainError as refusal:
        if not as_form:
            raise
        log_refusal(request, refusal.status_code, refusal.error_type)
        extra = getattr(refusal, "extra", {})
        return _back_to(
            LOGIN_PAGE, refusal, **({"until": str(extra["locked_until"])} if "locked_until" in extra else {})
        )
    async with accounts.own_transaction(runtime.db) as pg:
        session_id, session = await sessions.create(pg, settings, account.username, "password")
        await accounts.record_change(pg, account.username, account.username, "signed_in", {"via": "password"})
    if as_form:
        response: Response = RedirectResponse(PASSWORD_PAGE if account.must_change_password else CONSOLE, 303)
    else:
        caller = person(session)
        response = JSONResponse(_me(caller, session, settings.session_idle_minutes).model_dump(mode="json"))
    sessions.set_cookie(response, settings, session_id)
    return _no_store(response)


async def _signed_in(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> Caller:
    return await authenticate(request, runtime, gateway)


async def _person_only(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> Caller:
    caller = await authenticate(request, runtime, gateway)
    if not caller.is_person:
        raise Forbidden("only a signed-in person has a password and a session here", loc=["header", "authorization"])
    return caller


SignedIn = Annotated[Caller, Depends(_signed_in)]
Person = Annotated[Caller, Depends(_person_only)]


@router.delete(
    "/auth/session",
    status_code=204,
    tags=["auth"],
    summary="Sign out (ends the session)",
    description="Needs the session's `X-CSRF-Token`. The cookie is cleared.",
)
async def sign_out(request: Request, runtime: RuntimeDep, _: Person) -> Response:
    session: sessions.Session = request.state.session
    async with accounts.own_transaction(runtime.db) as pg:
        await sessions.revoke(pg, session.session_hash)
    response = Response(status_code=204)
    sessions.clear_cookie(response, runtime.settings)
    return response


@router.get("/auth/me", response_model=Me, tags=["auth"], summary="Who is calling: person or client, role, regions")
async def me(request: Request, runtime: RuntimeDep, caller: SignedIn) -> Response:
    session = getattr(request.state, "session", None) if caller.is_person else None
    return _no_store(JSONResponse(_me(caller, session, runtime.settings.session_idle_minutes).model_dump(mode="json")))


@router.post(
    "/auth/password",
    response_model=Me,
    tags=["auth"],
    summary="Change one's own password (every session ends; this one is renewed)",
    description="JSON or form: `current_password`, `new_password` (at least 12 characters, 3 of 4 kinds: lower "
    "case, upper case, digits, symbols; not the username; not a common password). Every session of the account "
    "ends; the answer sets a new cookie for this browser. A wrong current password counts toward the lockout.",
    openapi_extra=_json_or_form(PasswordChange),
    responses={401: {"description": "the current password is wrong"}, 422: {"description": "password_policy"}},
)
async def change_password(request: Request, runtime: RuntimeDep, caller: Person) -> Response:
    session: sessions.Session = request.state.session
    as_form = _is_form(request)
    try:
        body = await _body(request, PasswordChange)
        account = await _reauthenticate(runtime, session.account, body.current_password)
        account = await accounts.change_password(runtime.db, account, body.new_password, actor=caller.client_id)
    except DomainError as error:
        if not as_form:
            raise
        log_refusal(request, error.status_code, error.error_type)
        return _back_to(PASSWORD_PAGE, error)
    async with accounts.own_transaction(runtime.db) as pg:
        session_id, renewed = await sessions.create(pg, runtime.settings, account.username, session.via)
    response: Response
    if as_form:
        response = RedirectResponse(CONSOLE, 303)
    else:
        me_now = _me(person(renewed), renewed, runtime.settings.session_idle_minutes)
        response = JSONResponse(me_now.model_dump(mode="json"))
    sessions.set_cookie(response, runtime.settings, session_id)
    return _no_store(response)


async def _reauthenticate(runtime: RuntimeDep, account: Account, password: str) -> Account:
    """The account again when `password` is its own (a sensitive change asks for it); a wrong one counts."""
    if not await asyncio.to_thread(accounts.verify_password, account.password_hash, password):
        await accounts.count_failure(runtime.db, runtime.settings, account)
        raise WrongPassword()
    return account


class WrongPassword(Refusal):
    status_code = 401
    error_type = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("当前密码错误 (the current password is wrong)", loc=["body", "current_password"])


# --- the second factor --------------------------------------------------------------------------


@router.post(
    "/auth/totp",
    response_model=TotpEnrolment,
    tags=["auth"],
    summary="Start enrolling an authenticator (TOTP); confirm with a code",
    description="Needs the password. Answers the secret and its otpauth:// URI once; the factor is on only after "
    "`POST /api/v1/auth/totp/confirm` with a code the app shows.",
)
async def totp_enrol(body: PasswordConfirm, request: Request, runtime: RuntimeDep, caller: Person) -> Response:
    session: sessions.Session = request.state.session
    account = await _reauthenticate(runtime, session.account, body.password)
    secret = accounts.new_totp_secret()
    async with accounts.own_transaction(runtime.db) as pg:
        current = await accounts.get(pg, account.username, for_update=True)
        assert current is not None
        await accounts.update(
            pg, current, actor=caller.client_id, action="totp_enrolment_started",
            totp_pending=accounts.seal(runtime.cipher, secret),
        )  # fmt: skip
    enrolment = TotpEnrolment(secret=secret, provisioning_uri=accounts.provisioning_uri(secret, account.username))
    return _no_store(JSONResponse(enrolment.model_dump()))


@router.post(
    "/auth/totp/confirm", response_model=Me, tags=["auth"], summary="Confirm the authenticator with its current code"
)
async def totp_confirm(body: TotpCode, request: Request, runtime: RuntimeDep, caller: Person) -> Response:
    session: sessions.Session = request.state.session
    async with accounts.own_transaction(runtime.db) as pg:
        account = await accounts.get(pg, caller.client_id, for_update=True)
        assert account is not None
        if account.totp_pending is None:
            raise Invalid("no enrolment under way: POST /api/v1/auth/totp first", loc=["body", "code"])
        secret = accounts.unseal(runtime.cipher, account.totp_pending)
        step = accounts.totp_step(secret, body.code, None)
        if step is None:
            raise Invalid("动态验证码错误 (the code is wrong)", loc=["body", "code"], error_type="totp_invalid")
        account = await accounts.update(
            pg, account, actor=caller.client_id, action="totp_enrolled",
            totp_secret=account.totp_pending, totp_pending=None, totp_last_step=step,
        )  # fmt: skip
    fresh = sessions.Session(**{**session.__dict__, "account": account})
    return _no_store(JSONResponse(_me(caller, fresh, runtime.settings.session_idle_minutes).model_dump(mode="json")))


@router.post(
    "/auth/totp/disable",
    response_model=Me,
    tags=["auth"],
    summary="Turn one's authenticator off (password and a current code)",
)
async def totp_disable(body: TotpDisable, request: Request, runtime: RuntimeDep, caller: Person) -> Response:
    session: sessions.Session = request.state.session
    await _reauthenticate(runtime, session.account, body.password)
    async with accounts.own_transaction(runtime.db) as pg:
        account = await accounts.get(pg, caller.client_id, for_update=True)
        assert account is not None
        if account.totp_secret is None:
            raise Invalid("no authenticator is enrolled", loc=["body", "code"])
        step = accounts.totp_step(
            accounts.unseal(runtime.cipher, account.totp_secret), body.code, account.totp_last_step
        )
        if step is None:
            raise Invalid("动态验证码错误或已使用 (the code is wrong or was used already)", loc=["body", "code"],
                          error_type="totp_invalid")  # fmt: skip
        account = await accounts.update(
            pg, account, actor=caller.client_id, action="totp_removed", totp_secret=None, totp_last_step=step
        )
    fresh = sessions.Session(**{**session.__dict__, "account": account})
    return _no_store(JSONResponse(_me(caller, fresh, runtime.settings.session_idle_minutes).model_dump(mode="json")))


# --- OpenID Connect (a browser's redirects: not in the API description) --------------------------


@router.get("/auth/oidc/login", include_in_schema=False)
async def oidc_login(runtime: RuntimeDep, gateway: GatewayDep) -> Response:
    if not runtime.settings.oidc_issuer:
        raise NotFound("sign-in through an identity provider is not configured", loc=["path"])
    async with accounts.own_transaction(runtime.db) as pg:
        url = await oidc.authorization_url(pg, runtime.settings, gateway.http, return_to=CONSOLE)
    return _no_store(RedirectResponse(url, status_code=303))


@router.get("/auth/oidc/callback", include_in_schema=False)
@accepts_any_query  # the provider's parameters (code, state, session_state, iss, error…) are its own
async def oidc_callback(request: Request, runtime: RuntimeDep, gateway: GatewayDep) -> Response:
    """The provider sends the browser back here with `code` and `state` (or `error`)."""
    settings = runtime.settings
    if not settings.oidc_issuer:
        raise NotFound("sign-in through an identity provider is not configured", loc=["path"])
    try:
        subject, return_to = await oidc.complete(runtime.db, settings, gateway.http, dict(request.query_params))
        async with accounts.own_transaction(runtime.db) as pg:
            account = await accounts.by_subject(pg, subject)
            if account is None or account.disabled:
                raise oidc.OidcRefused("no_account")
            session_id, _ = await sessions.create(pg, settings, account.username, "oidc")
            await accounts.record_change(pg, account.username, account.username, "signed_in", {"via": "oidc"})
    except oidc.OidcRefused as refused:
        log_refusal(request, 401, f"oidc: {refused.reason}")
        return _no_store(RedirectResponse(f"{LOGIN_PAGE}?{urlencode({'error': 'oidc_' + refused.reason})}", 303))
    response = RedirectResponse(return_to, status_code=303)
    sessions.set_cookie(response, settings, session_id)
    return _no_store(response)


# --- accounts (province administrators) --------------------------------------------------------

Admin = Annotated[Caller, scoped(Scope.accounts_admin)]
Username = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]


def _out(account: Account, one_time_password: str | None = None) -> dict[str, Any]:
    return AccountIssued(**account.public(), one_time_password=one_time_password).model_dump(
        mode="json", exclude_none=False
    )


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid(f"unknown role; one of {sorted(r.value for r in Role)}", loc=["body", "role"]) from None


def _scopes(values: list[str]) -> list[Scope]:
    try:
        return [Scope(v) for v in dict.fromkeys(values)]
    except ValueError:
        raise Invalid("unknown scope", loc=["body", "extra_scopes"]) from None


async def _managed(pg: asyncpg.Connection, admin: Caller, username: str, *, for_update: bool = False) -> Account:
    """The account, when the administrator manages it; 404 otherwise, as for an unknown one."""
    account = await accounts.get(pg, username, for_update=for_update)
    if account is None or not accounts.manages(admin.regions, account.regions):
        raise NotFound("no account with this username", loc=["path", "username"])
    return account


@router.get("/accounts", response_model=Page[AccountOut], tags=["accounts"], summary="The accounts one manages")
async def list_accounts(
    runtime: RuntimeDep,
    admin: Admin,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[AccountOut]:
    """Accounts whose every region lies within the administrator's, by username."""
    after = decode_cursor(cursor, [""])[0] if cursor else None
    async with accounts.own_transaction(runtime.db) as pg:
        found = [a for a in await accounts.listed(pg, after=after) if accounts.manages(admin.regions, a.regions)]
    items = [AccountOut(**a.public()) for a in found[:limit]]
    return Page[AccountOut](
        items=items, next_cursor=encode_cursor([items[-1].username]) if len(found) > limit else None
    )


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountIssued,
    tags=["accounts"],
    summary="Make an account (answers its one-time password once)",
    description="Within the administrator's regions (403 otherwise). The person must change the one-time password "
    "at first sign-in. An account with `oidc_subject` may also sign in through the identity provider.",
    responses={403: {"description": "a region outside yours"}, 409: {"description": "the username is taken"}},
)
async def create_account(body: AccountNew, runtime: RuntimeDep, gateway: GatewayDep, admin: Admin) -> JSONResponse:
    role, extra = _role(body.role), _scopes(body.extra_scopes)
    accounts.check_username(body.username, gateway.clients)
    accounts.check_shape(role=role, regions=body.regions, extra_scopes=extra, acts_for=body.acts_for,
                         clients=gateway.clients)  # fmt: skip
    accounts.require_manages(admin.regions, body.regions, ["body", "regions"])
    password = accounts.one_time_password()
    async with accounts.own_transaction(runtime.db) as pg:
        account = await accounts.create(
            pg, username=body.username, display_name=body.display_name, role=role, regions=body.regions,
            extra_scopes=extra, acts_for=body.acts_for, oidc_subject=body.oidc_subject, password=password,
            must_change_password=True, actor=admin.client_id,
        )  # fmt: skip
    return JSONResponse(_out(account, password), status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/accounts/{username}", response_model=AccountOut, tags=["accounts"], summary="One account")
async def read_account(username: Username, runtime: RuntimeDep, admin: Admin) -> AccountOut:
    async with accounts.own_transaction(runtime.db) as pg:
        return AccountOut(**(await _managed(pg, admin, username)).public())


@router.patch(
    "/accounts/{username}",
    response_model=AccountIssued,
    tags=["accounts"],
    summary="Change an account: role, regions, scopes, disable, reset its password or second factor, unlock",
    description="Within the administrator's regions, before and after. Disabling ends the account's sessions at "
    "once; `reset_password` answers a new one-time password once (to be changed at the next sign-in) and ends "
    "its sessions. An administrator cannot disable, demote or move themselves.",
)
async def change_account(
    username: Username, body: AccountPatch, runtime: RuntimeDep, gateway: GatewayDep, admin: Admin
) -> JSONResponse:
    given = body.model_fields_set
    async with accounts.own_transaction(runtime.db) as pg:
        account = await _managed(pg, admin, username, for_update=True)
        role = _role(body.role) if body.role is not None else account.role
        regions = body.regions if body.regions is not None else list(account.regions)
        extra = _scopes(body.extra_scopes) if body.extra_scopes is not None else list(account.extra_scopes)
        acts_for = body.acts_for if "acts_for" in given else account.acts_for if role in FEED_ROLES else None
        accounts.check_shape(role=role, regions=regions, extra_scopes=extra, acts_for=acts_for, clients=gateway.clients)
        accounts.require_manages(admin.regions, regions, ["body", "regions"])
        if (
            admin.is_person
            and username == admin.client_id
            and (body.disabled or role is not account.role or set(regions) != set(account.regions))
        ):
            raise Forbidden("an administrator cannot disable, demote or move themselves", loc=["path", "username"])
        values: dict[str, object] = {}
        for name, value in (("display_name", body.display_name), ("role", role), ("regions", regions),
                            ("extra_scopes", extra), ("acts_for", acts_for)):  # fmt: skip
            if name in given or name in {"role", "acts_for"}:
                values[name] = value
        if "oidc_subject" in given:
            values["oidc_subject"] = body.oidc_subject
        if body.disabled is not None:
            values["disabled"] = body.disabled
        action = (
            "disabled" if body.disabled else "enabled" if body.disabled is False and account.disabled else "updated"
        )
        account = await accounts.update(pg, account, actor=admin.client_id, action=action, **values)
        if body.disabled:
            await sessions.revoke_all(pg, username)
        password = None
        if body.reset_password:
            password = accounts.one_time_password()
            password_hash = await asyncio.to_thread(accounts.hash_password, password)
            account = await accounts.update(
                pg, account, actor=admin.client_id, action="password_reset", password_hash=password_hash,
                must_change_password=True, password_changed_at=datetime.now(account.created_at.tzinfo),
            )  # fmt: skip
            await sessions.revoke_all(pg, username)
        if body.reset_totp and (account.totp_secret or account.totp_pending):
            account = await accounts.update(pg, account, actor=admin.client_id, action="totp_removed",
                                            totp_secret=None, totp_pending=None)  # fmt: skip
        if body.unlock and (account.locked_until or account.failed_attempts):
            account = await accounts.update(pg, account, actor=admin.client_id, action="unlocked",
                                            locked_until=None, failed_attempts=0)  # fmt: skip
    return JSONResponse(_out(account, password), headers={"Cache-Control": "no-store"})


@router.get(
    "/accounts/{username}/history",
    response_model=Page[AccountChange],
    tags=["accounts"],
    summary="Every change of an account, newest first: who, what, old → new",
)
async def account_history(
    username: Username,
    runtime: RuntimeDep,
    admin: Admin,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[AccountChange]:
    before = int(decode_cursor(cursor, [0])[0]) if cursor else None
    async with accounts.own_transaction(runtime.db) as pg:
        await _managed(pg, admin, username)
        rows = await accounts.history(pg, username, before=before, limit=limit + 1)
    items = [AccountChange(**{**dict(row), "changes": orjson.loads(row["changes"])}) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].change_id]) if len(rows) > limit else None
    return Page[AccountChange](items=items, next_cursor=next_cursor)
