"""Tokens and clients as pure logic: what verification refuses, what roles hold, what configuration is accepted."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
from pydantic import ValidationError

from gateway_svc.clients import Client, load_clients, new_client, verify_secret
from gateway_svc.ratelimit import RateLimiter
from gateway_svc.roles import ROLE_SCOPES, Role, Scope
from gateway_svc.settings import DEV_TOKEN_KEY, GatewaySettings
from gateway_svc.tokens import InvalidToken, issue, verify
from kernel.credentials import DEV_CALLER_SIGNING_KEY, public_key_of

SETTINGS = GatewaySettings()


@pytest.fixture(scope="module")
def officer() -> Client:
    entry, _ = new_client(Role.city_officer, ["150100"], "hohhot")
    return Client.model_validate(entry)


def claims(**changes: object) -> dict:
    now = int(time.time())
    base = {
        "iss": SETTINGS.token_issuer,
        "aud": SETTINGS.token_audience,
        "iat": now,
        "exp": now + 60,
        "jti": "x",
        "sub": "hohhot",
        "role": "city_officer",
        "scope": "findings:read",
        "regions": ["150100"],
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def test_an_issued_token_verifies_with_the_clients_scopes_and_regions(officer: Client) -> None:
    token, ttl = issue(SETTINGS, officer, officer.scopes)
    caller = verify(SETTINGS, token)
    assert (caller.client_id, caller.role, caller.regions) == ("hohhot", "city_officer", ("150100",))
    assert caller.holds(Scope.findings_read) and not caller.holds(Scope.feeds_registry)
    assert ttl == SETTINGS.token_ttl_seconds
    assert set(jwt.decode(token, options={"verify_signature": False})) >= {
        "iss",
        "aud",
        "exp",
        "iat",
        "jti",
        "sub",
        "scope",
    }


KEY = SETTINGS.token_signing_key.get_secret_value()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(jwt.encode(claims(exp=int(time.time()) - 60), KEY, algorithm="HS256"), id="expired"),
        pytest.param(
            jwt.encode(claims(), "another-key-of-at-least-32-bytes!!", algorithm="HS256"), id="wrongly-signed"
        ),
        pytest.param(jwt.encode(claims(aud="someone-else"), KEY, algorithm="HS256"), id="wrong-audience"),
        pytest.param(jwt.encode(claims(iss="someone-else"), KEY, algorithm="HS256"), id="wrong-issuer"),
        pytest.param(jwt.encode(claims(), "", algorithm="none"), id="alg-none"),
        pytest.param(jwt.encode(claims(), KEY, algorithm="HS512"), id="other-algorithm"),
        pytest.param(jwt.encode(claims(regions=None), KEY, algorithm="HS256"), id="no-regions"),
        pytest.param(jwt.encode(claims(regions="150100"), KEY, algorithm="HS256"), id="regions-not-a-list"),
        pytest.param("not-a-token", id="garbage"),
    ],
)
def test_verification_refuses(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify(SETTINGS, token)


def test_roles_keep_feeds_and_reads_apart() -> None:
    assert Scope.feeds_registry not in ROLE_SCOPES[Role.dashboard]
    assert ROLE_SCOPES[Role.dashboard] <= {Scope.findings_read, Scope.reports_read}
    assert Scope.cases_read not in ROLE_SCOPES[Role.fund_feed]
    assert not any(Scope.persons_reveal in scopes for scopes in ROLE_SCOPES.values())  # granted per client only
    assert ROLE_SCOPES[Role.province_admin] >= {Scope.audit_read, Scope.campaign_admin}


def test_secrets_are_stored_hashed_and_verified(officer: Client) -> None:
    entry, secret = new_client(Role.dashboard, ["150000"], "wall")
    assert secret not in str(entry) and entry["secret_hash"].startswith("$argon2id$")
    client = Client.model_validate(entry)
    assert verify_secret(client, secret)
    assert not verify_secret(client, secret + "x")
    assert not verify_secret(None, secret)


def test_configuration_refuses_plain_secrets_ungrantable_scopes_and_duplicates() -> None:
    entry, _ = new_client(Role.city_officer, ["150100"], "hohhot")
    with pytest.raises(ValidationError):
        Client.model_validate({**entry, "secret_hash": "plaintext"})
    with pytest.raises(ValidationError):
        Client.model_validate({**entry, "extra_scopes": ["audit:read"]})
    with pytest.raises(ValidationError):
        Client.model_validate({**entry, "regions": ["1501"]})
    import orjson

    with pytest.raises(ValueError, match="twice"):
        load_clients(GatewaySettings(gateway_clients=orjson.dumps([entry, entry]).decode()))


def test_clients_come_from_the_environment_and_a_file_together(tmp_path) -> None:
    import orjson

    in_env, _ = new_client(Role.city_officer, ["150100"], "hohhot")
    in_file, _ = new_client(Role.fund_feed, ["150000"], "fund-center")
    path = tmp_path / "clients.json"
    path.write_bytes(orjson.dumps([in_file]))
    clients = load_clients(GatewaySettings(gateway_clients=orjson.dumps([in_env]).decode(), gateway_clients_file=path))
    assert set(clients) == {"hohhot", "fund-center"}
    assert clients["fund-center"].scopes == ROLE_SCOPES[Role.fund_feed]
    assert clients["hohhot"].region_scope == "150100"


def test_production_refuses_the_development_signing_key_and_short_keys() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(
            environment="production",
            pseudonym_pepper="p" * 40,
            encryption_keys="k1:" + "A" * 43 + "=",
            encryption_active_key_id="k1",
        )
    with pytest.raises(ValidationError):
        GatewaySettings(token_signing_key="short")
    assert GatewaySettings(token_signing_key="x" * 32).token_signing_key.get_secret_value() != DEV_TOKEN_KEY


def test_the_caller_credentials_key_is_refused_when_it_is_the_development_one_malformed_or_not_the_pair() -> None:
    seed = base64.b64encode(bytes(range(32))).decode()
    production = {
        "environment": "production",
        "pseudonym_pepper": "p" * 40,
        "encryption_keys": "k1:" + base64.b64encode(bytes(32)).decode(),
        "encryption_active_key_id": "k1",
        "token_signing_key": "t" * 40,
        "service_credential_secret": "s" * 40,
        "caller_verify_key": public_key_of(seed),
    }
    assert GatewaySettings.model_validate({**production, "caller_signing_key": seed}).environment == "production"
    refusals = {
        "CALLER_SIGNING_KEY must be set in production": DEV_CALLER_SIGNING_KEY,
        "must be base64 of a 32-byte seed": base64.b64encode(bytes(31)).decode(),
        "are not one pair": base64.b64encode(bytes(32)).decode(),
    }
    for message, key in refusals.items():
        with pytest.raises(ValidationError, match=message):
            GatewaySettings.model_validate({**production, "caller_signing_key": key})


def test_rate_limiter_allows_a_burst_then_says_how_long_to_wait() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    wait = limiter.take("a")
    assert wait == pytest.approx(0.5)
    assert limiter.take("b") is None  # per client
    now[0] += 0.5
    assert limiter.take("a") is None
    assert RateLimiter.retry_after(0.2) == "1"
