"""The gateway's settings: token signing, the caller credential's key, the clients of a deployment, where the
services are, limits."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from kernel.credentials import DEV_CALLER_SIGNING_KEY, public_key_of
from kernel.settings import Environment, ServiceSettings

# Development-only signing key (≥ 32 bytes for HS256): a production deployment refuses it.
DEV_TOKEN_KEY = "dev-only-gateway-token-signing-key-not-for-production"
MIN_KEY_BYTES = 32


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"

    token_signing_key: SecretStr = Field(
        SecretStr(DEV_TOKEN_KEY), description="HS256 key of the access tokens, at least 32 bytes (a random secret)."
    )
    caller_signing_key: SecretStr = Field(
        SecretStr(DEV_CALLER_SIGNING_KEY),
        description="Ed25519 seed (base64, 32 bytes) signing the caller credential sent with every forwarded "
        "request; the services hold its public half (CALLER_VERIFY_KEY). Make a pair: suite credential-keys.",
    )
    token_issuer: str = "guazheng-gateway"
    token_audience: str = "guazheng-api"
    token_ttl_seconds: int = Field(900, ge=60, le=86_400)

    # Clients come from the deployment, never from code: a JSON list in GATEWAY_CLIENTS, and/or a
    # file of the same JSON (GATEWAY_CLIENTS_FILE). Entries are made by `suite gateway-client`.
    gateway_clients: SecretStr = Field(SecretStr("[]"), description="JSON list of client entries (hashed secrets).")
    gateway_clients_file: Path | None = None

    # registry_url, insurance_url, fund_url: ServiceSettings'.
    matcher_url: str = "http://127.0.0.1:8104"
    case_url: str = "http://127.0.0.1:8105"

    feed_body_limit: int = Field(2 * 1024**3, description="bytes a feed upload may carry (streamed through)")
    attachment_body_limit: int = Field(
        20 * 1024**2 + 64 * 1024, description="bytes a case attachment upload may carry (case-svc's limit and the form)"
    )
    body_limit: int = Field(1024**2, description="bytes any other request may carry")
    max_page_size: int = Field(500, ge=1, le=1000, description="a larger `limit` is reduced to this")
    upstream_connect_timeout: float = 5.0
    upstream_read_timeout: float = Field(120.0, description="seconds a service may take to answer (feeds are large)")
    rate_limit_per_second: float = Field(20.0, gt=0, description="sustained requests per client")
    rate_limit_burst: int = Field(60, ge=1, description="requests a client may make at once")
    openapi_cache_seconds: float = 300.0

    # People's sign-in (accounts.py, sessions.py): browser sessions, lockout, where cookies may come from.
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60, description="a session unused this long ends")
    session_absolute_hours: int = Field(12, ge=1, le=7 * 24, description="a session ends this long after sign-in")
    login_max_failures: int = Field(5, ge=1, le=100, description="wrong passwords or codes in a row before a lockout")
    login_lockout_minutes: int = Field(15, ge=1, le=24 * 60, description="how long a locked account stays locked")
    session_cookie_secure: bool | None = Field(
        None, description="the Secure flag (and the __Host- name) of the session cookie; unset: on outside development"
    )
    public_origins: list[str] = Field(
        default_factory=list,
        description="origins (scheme://host[:port]) a cookie-authenticated write may come from besides the gateway's "
        "own address as the request names it: the public address when a proxy terminates TLS in front",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="origins (scheme://host[:port]) whose pages may call the API from a browser (dashboards): CORS "
        "for exactly these, never `*`; empty (the default): none",
    )
    # OpenID Connect federation to the province's identity provider (oidc.py): off unless OIDC_ISSUER is set.
    oidc_issuer: str | None = Field(None, description="the provider's issuer URL (its discovery document is read)")
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_redirect_url: str | None = Field(
        None, description="the callback as the provider sees it: https://<public host>/api/v1/auth/oidc/callback"
    )
    oidc_scope: str = "openid profile"
    oidc_label: str = Field("统一身份认证登录", description="the sign-in page's button for the provider")

    @model_validator(mode="after")
    def _refuse_unusable_keys(self) -> GatewaySettings:
        key = self.token_signing_key.get_secret_value()
        if len(key.encode()) < MIN_KEY_BYTES:
            raise ValueError(f"TOKEN_SIGNING_KEY must be at least {MIN_KEY_BYTES} bytes")
        if self.environment is Environment.production and key == DEV_TOKEN_KEY:
            raise ValueError("TOKEN_SIGNING_KEY must be set in production")
        caller_key = self.caller_signing_key.get_secret_value()
        if self.environment is Environment.production and caller_key == DEV_CALLER_SIGNING_KEY:
            raise ValueError("CALLER_SIGNING_KEY must be set in production")
        try:
            public_key = public_key_of(caller_key)
        except ValueError:
            raise ValueError("CALLER_SIGNING_KEY must be base64 of a 32-byte seed (suite credential-keys)") from None
        # The services verify with CALLER_VERIFY_KEY: a gateway whose key is not its pair would be refused
        # on every request it forwards, so it refuses to start instead.
        if public_key != self.caller_verify_key:
            raise ValueError("CALLER_SIGNING_KEY and CALLER_VERIFY_KEY are not one pair (suite credential-keys)")
        for origin in self.cors_origins:
            scheme, _, rest = origin.partition("://")
            if scheme not in {"http", "https"} or not rest or any(c in rest for c in "/?#*@ "):
                raise ValueError(f"CORS_ORIGINS: {origin!r} is not an origin (scheme://host[:port], no wildcard)")
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_redirect_url):
            raise ValueError("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_REDIRECT_URL")
        if self.environment is Environment.production and self.session_cookie_secure is False:
            raise ValueError("SESSION_COOKIE_SECURE cannot be off in production")
        return self

    @property
    def secure_cookies(self) -> bool:
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.environment is not Environment.development

    @property
    def session_cookie(self) -> str:
        """`__Host-` binds the cookie to this host, path / and HTTPS: only with the Secure flag."""
        return "__Host-guazheng_session" if self.secure_cookies else "guazheng_session"

    @cached_property
    def service_urls(self) -> dict[str, str]:
        return {
            "registry": self.registry_url,
            "insurance": self.insurance_url,
            "fund": self.fund_url,
            "matcher": self.matcher_url,
            "case": self.case_url,
        }
