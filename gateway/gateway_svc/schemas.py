"""The request and response bodies of the gateway's own endpoints (api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# What a person-access entry records: a forwarded read of a person's data, a lookup by ID number, a reveal, a
# download of a list with full ID numbers (a check request's).
Action = Literal["read", "lookup", "reveal", "export"]


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJob2hob3Qtb2ZmaWNlciJ9.c2lnbmF0dXJl",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "scope": "cases:read findings:read persons:read",
                }
            ]
        }
    )

    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(examples=[900])
    scope: str = Field(examples=["cases:read findings:read persons:read"])


class LookupRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id_number": "150102199003070015"}]})

    id_number: str = Field(max_length=32, description="居民身份证号码; sent in the body only")


class LookupResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"person_ref": "4f1c2a9b7d3e5f60718293a4b5", "masked_id": "150102**********15"}]
        }
    )

    person_ref: str
    masked_id: str


class Identity(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_ref": "4f1c2a9b7d3e5f60718293a4b5",
                    "id_number": "150102199003070015",
                    "masked_id": "150102**********15",
                    "name": "张伟",
                }
            ]
        }
    )

    person_ref: str
    id_number: str
    masked_id: str
    name: str


class PersonAccess(BaseModel):
    """One read (or lookup, or reveal) of one person's data."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_id": 10452,
                    "at": "2024-11-04T10:12:45+08:00",
                    "client_id": "hohhot-wang",
                    "actor_kind": "person",
                    "role": "city_officer",
                    "person_ref": "4f1c2a9b7d3e5f60718293a4b5",
                    "action": "read",
                    "route": "GET /api/v1/cases/{case_id}",
                    "status": 200,
                    "request_id": "5b0f3c1e9a7d4e2f",
                }
            ]
        }
    )

    access_id: int
    at: datetime
    client_id: str = Field(description="the client's id, or the signed-in person's username")
    actor_kind: Literal["client", "person"] = "client"
    role: str
    person_ref: str
    action: Action
    route: str = Field(description="the route's method and template, e.g. GET /api/v1/matcher/persons/{person_ref}")
    status: int
    request_id: str | None


# --- people's sign-in and accounts (account_api.py) ----------------------------------------------


class _Body(BaseModel):
    """A request body of people's routes: no NUL anywhere (PostgreSQL text cannot hold one)."""

    @model_validator(mode="after")
    def _no_nul(self) -> _Body:
        for name, value in self:
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise ValueError(f"{name}: a NUL character is not allowed")
        return self


_USERNAME = Field(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$", examples=["hohhot-wang"])
_ACCOUNT_EXAMPLE: dict[str, Any] = {
    "username": "hohhot-wang",
    "display_name": "王建军",
    "role": "city_officer",
    "regions": ["150100"],
    "extra_scopes": [],
    "acts_for": None,
    "oidc_subject": None,
    "disabled": False,
    "must_change_password": False,
    "totp_enabled": True,
    "locked_until": None,
    "created_at": "2026-12-01T09:00:00+08:00",
    "created_by": "nm-admin",
    "updated_at": "2026-12-02T10:30:00+08:00",
    "updated_by": "hohhot-wang",
}


class SignIn(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"username": "hohhot-wang", "password": "Qz7-mKa2-Rt9w", "totp_code": "492039"}]
        },
    )

    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    totp_code: str | None = Field(None, max_length=12, description="the authenticator's 6 digits, when enrolled")


class Me(BaseModel):
    """Who is signed in (or which client calls), and the session's CSRF token for its writes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "person",
                    "username": "hohhot-wang",
                    "display_name": "王建军",
                    "role": "city_officer",
                    "regions": ["150100"],
                    "scopes": ["cases:read", "cases:write", "findings:read", "persons:read"],
                    "acts_for": None,
                    "must_change_password": False,
                    "totp_enabled": True,
                    "csrf_token": "Xq3v9LrT0pZk2mWb8dYc1eF4gH6jK7nA5sD0fG2hJ3k",
                    "session_expires_at": "2026-12-02T22:30:00+08:00",
                    "idle_minutes": 30,
                }
            ]
        }
    )

    kind: Literal["person", "client"]
    username: str
    display_name: str | None = None
    role: str
    regions: list[str]
    scopes: list[str]
    acts_for: str | None = None
    must_change_password: bool = False
    totp_enabled: bool = False
    csrf_token: str | None = Field(None, description="send as X-CSRF-Token with every write of this session")
    session_expires_at: datetime | None = None
    idle_minutes: int | None = None


class PasswordChange(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"current_password": "Xk7p-3mQa-Rt9w-bN4e", "new_password": "呼和浩特-Wang-2026"}]
        },
    )

    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordConfirm(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"password": "呼和浩特-Wang-2026"}]})

    password: str = Field(max_length=256)


class TotpEnrolment(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                    "provisioning_uri": "otpauth://totp/%E6%8C%82%E8%AF%81%E4%B8%93%E9%A1%B9%E6%B2%BB%E7%90%86:hohhot-wang?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=%E6%8C%82%E8%AF%81%E4%B8%93%E9%A1%B9%E6%B2%BB%E7%90%86",
                }
            ]
        }
    )

    secret: str = Field(description="base32; shown once, for an authenticator app")
    provisioning_uri: str = Field(description="otpauth:// URI (a QR code of it is what apps scan)")


class TotpCode(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "492039"}]})

    code: str = Field(max_length=12)


class TotpDisable(_Body):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"password": "呼和浩特-Wang-2026", "code": "492039"}]}
    )

    password: str = Field(max_length=256)
    code: str = Field(max_length=12)


class Account(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ACCOUNT_EXAMPLE]})

    username: str
    display_name: str
    role: str
    regions: list[str]
    extra_scopes: list[str]
    acts_for: str | None
    oidc_subject: str | None
    disabled: bool
    must_change_password: bool
    totp_enabled: bool
    locked_until: datetime | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class AccountIssued(Account):
    """An account with the one-time password just set: shown once, never stored in clear."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [_ACCOUNT_EXAMPLE | {"must_change_password": True, "one_time_password": "Xk7p-3mQa-Rt9w-bN4e"}]
        }
    )

    one_time_password: str | None = None


class AccountNew(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"username": "hohhot-wang", "display_name": "王建军", "role": "city_officer", "regions": ["150100"]},
                {
                    "username": "nm-shebao-li",
                    "display_name": "李娜",
                    "role": "insurance_feed",
                    "regions": ["150000"],
                    "acts_for": "nm-insurance-feed",
                },
            ]
        },
    )

    username: str = _USERNAME
    display_name: str = Field(min_length=1, max_length=64)
    role: str = Field(examples=["city_officer"])
    regions: list[str] = Field(min_length=1, max_length=50, examples=[["150100"]])
    extra_scopes: list[str] = Field(default_factory=list, max_length=5, examples=[["persons:reveal"]])
    acts_for: str | None = Field(None, max_length=64, description="a feed role's client id")
    oidc_subject: str | None = Field(
        None, max_length=255, description="the identity provider's `sub`: only such accounts sign in through it"
    )


class AccountPatch(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"regions": ["150100", "150200"], "extra_scopes": ["persons:reveal"]},
                {"disabled": True},
                {"reset_password": True},
            ]
        },
    )

    display_name: str | None = Field(None, min_length=1, max_length=64)
    role: str | None = None
    regions: list[str] | None = Field(None, min_length=1, max_length=50)
    extra_scopes: list[str] | None = Field(None, max_length=5)
    acts_for: str | None = Field(None, max_length=64)
    oidc_subject: str | None = Field(None, max_length=255)
    disabled: bool | None = None
    reset_password: bool = Field(False, description="a new one-time password, answered once; must be changed")
    reset_totp: bool = Field(False, description="removes the second factor (a lost phone)")
    unlock: bool = Field(False, description="ends a lockout now")


class AccountChange(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "change_id": 41,
                    "at": "2026-12-02T10:30:00+08:00",
                    "username": "hohhot-wang",
                    "actor": "nm-admin",
                    "action": "updated",
                    "changes": {"regions": {"old": ["150100"], "new": ["150100", "150200"]}},
                }
            ]
        }
    )

    change_id: int
    at: datetime
    username: str
    actor: str
    action: str = Field(
        description="created, updated, password_reset, password_changed, locked, unlocked, disabled, enabled, "
        "totp_enrolled, totp_removed, signed_in"
    )
    changes: dict[str, object]
