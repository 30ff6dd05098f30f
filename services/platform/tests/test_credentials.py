"""Credentials as an attacker would try them: each way to forge, replay or stretch one is refused."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import pytest

from kernel.credentials import (
    AUDIENCE,
    DEV_CALLER_SIGNING_KEY,
    DEV_CALLER_VERIFY_KEY,
    DEV_SERVICE_SECRET,
    GATEWAY_ISSUER,
    CallerKind,
    InvalidCredential,
    caller_credential,
    public_key_of,
    service_credential,
    signing_key,
    verify,
    verify_key,
)

KEY = signing_key(DEV_CALLER_SIGNING_KEY)
PUBLIC = verify_key(DEV_CALLER_VERIFY_KEY)


def check(token: str) -> Any:
    return verify(token, caller_key=PUBLIC, service_secret=DEV_SERVICE_SECRET)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": GATEWAY_ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60, "sub": "hohhot-officer",
        "role": "city_officer", "kind": "client", "regions": ["150100"], "scope": "cases:read",
    }  # fmt: skip
    return {**base, **changes}


def test_a_gateway_credential_states_the_caller() -> None:
    token = caller_credential(
        KEY, actor="hohhot-officer", role="city_officer", regions=("150100",), scopes=frozenset({"cases:read"}),
        kind=CallerKind.person,
    )  # fmt: skip
    caller = check(token)
    assert (caller.actor, caller.role, caller.regions, caller.kind) == (
        "hohhot-officer", "city_officer", ("150100",), CallerKind.person,
    )  # fmt: skip
    assert caller.scopes == {"cases:read"} and not caller.is_service


def test_a_service_credential_is_a_service_everywhere() -> None:
    caller = check(service_credential(DEV_SERVICE_SECRET, "matcher"))
    assert caller.is_service and caller.actor == "matcher" and caller.regions == ("000000",)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("not-a-jwt", id="garbage"),
        pytest.param(jwt.encode(claims(), KEY, algorithm="EdDSA") + "x", id="tampered signature"),
        pytest.param(jwt.encode(claims(exp=int(time.time()) - 5), KEY, algorithm="EdDSA"), id="expired"),
        pytest.param(jwt.encode(claims(aud="somewhere-else"), KEY, algorithm="EdDSA"), id="other audience"),
        pytest.param(jwt.encode(claims(iss="someone"), KEY, algorithm="EdDSA"), id="other issuer"),
        pytest.param(jwt.encode(claims(regions=["15x100"]), KEY, algorithm="EdDSA"), id="bad region"),
        pytest.param(jwt.encode(claims(regions=[]), KEY, algorithm="EdDSA"), id="no region"),
        pytest.param(
            jwt.encode({k: v for k, v in claims().items() if k != "role"}, KEY, algorithm="EdDSA"), id="no role"
        ),
        pytest.param(jwt.encode(claims(kind="service"), KEY, algorithm="EdDSA"), id="gateway speaking for a service"),
        pytest.param(
            jwt.encode(claims(), signing_key(base64.b64encode(bytes(32)).decode()), algorithm="EdDSA"), id="other key"
        ),
        pytest.param(jwt.encode(claims(), DEV_CALLER_VERIFY_KEY, algorithm="HS256"), id="HS256 with the public key"),
        pytest.param(jwt.encode(claims(), "guessed-secret", algorithm="HS256"), id="HS256 with another secret"),
        pytest.param(jwt.encode(claims(), "", algorithm="none"), id="alg none"),
        pytest.param(
            jwt.encode(claims(iss="guazheng-service"), DEV_SERVICE_SECRET * 2, algorithm="HS512"), id="other algorithm"
        ),
    ],
)
def test_forged_or_stale_credentials_are_refused(token: str) -> None:
    with pytest.raises(InvalidCredential):
        check(token)


def test_the_public_key_goes_with_its_seed() -> None:
    assert public_key_of(DEV_CALLER_SIGNING_KEY) == DEV_CALLER_VERIFY_KEY
