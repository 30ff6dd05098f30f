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
    body_limit: int = Field(1024**2, description="bytes any other request may carry")
    max_page_size: int = Field(500, ge=1, le=1000, description="a larger `limit` is reduced to this")
    upstream_connect_timeout: float = 5.0
    upstream_read_timeout: float = Field(120.0, description="seconds a service may take to answer (feeds are large)")
    rate_limit_per_second: float = Field(20.0, gt=0, description="sustained requests per client")
    rate_limit_burst: int = Field(60, ge=1, description="requests a client may make at once")
    openapi_cache_seconds: float = 300.0

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
        return self

    @cached_property
    def service_urls(self) -> dict[str, str]:
        return {
            "registry": self.registry_url,
            "insurance": self.insurance_url,
            "fund": self.fund_url,
            "matcher": self.matcher_url,
            "case": self.case_url,
        }
