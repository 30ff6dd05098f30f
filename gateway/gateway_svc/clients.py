"""The clients of a deployment: who may ask for tokens, with which role and regions; secrets kept only hashed.

Entries come from configuration (GATEWAY_CLIENTS, GATEWAY_CLIENTS_FILE), so a bureau is added
without a code change. `suite gateway-client ROLE --region CODE` prints a new entry and its secret.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, TypeAdapter, field_validator, model_validator

from gateway_svc.roles import GRANTABLE, ROLE_SCOPES, Role, Scope
from gateway_svc.settings import GatewaySettings
from kernel.scope import EVERYWHERE

_hasher = PasswordHasher()
# Verified against when the client id is unknown, so that the answer takes as long either way.
_DUMMY_HASH = _hasher.hash("no-such-client")


class Client(BaseModel):
    client_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
    secret_hash: str = Field(description="argon2id hash of the client secret")
    role: Role
    regions: list[str] = Field(min_length=1, description="6-digit division codes; 000000 is everywhere")
    extra_scopes: list[Scope] = Field(default_factory=list, description=f"added to the role's: {sorted(GRANTABLE)}")
    description: str = ""

    @field_validator("regions")
    @classmethod
    def _codes(cls, regions: list[str]) -> list[str]:
        for code in regions:
            if not re.fullmatch(r"\d{6}", code):
                raise ValueError("a region is a 6-digit division code")
        return regions

    @model_validator(mode="after")
    def _grantable(self) -> Client:
        if not set(self.extra_scopes) <= GRANTABLE:
            raise ValueError(f"only {sorted(GRANTABLE)} may be granted on top of a role")
        if not self.secret_hash.startswith("$argon2"):
            raise ValueError("secret_hash must be an argon2 hash (made by `suite gateway-client`)")
        return self

    @property
    def scopes(self) -> frozenset[Scope]:
        return ROLE_SCOPES[self.role] | set(self.extra_scopes)

    @property
    def region_scope(self) -> str:
        """What the services receive in X-Region-Scope."""
        return EVERYWHERE if EVERYWHERE in self.regions else ",".join(self.regions)


_CLIENT_LIST = TypeAdapter(list[Client])


def load_clients(settings: GatewaySettings) -> dict[str, Client]:
    """Every configured client by id; a malformed or duplicated entry stops the gateway from starting."""
    entries = list(orjson.loads(settings.gateway_clients.get_secret_value() or "[]"))
    if settings.gateway_clients_file is not None:
        entries += orjson.loads(settings.gateway_clients_file.read_bytes())
    clients: dict[str, Client] = {}
    for client in _CLIENT_LIST.validate_python(entries):
        if client.client_id in clients:
            raise ValueError(f"client {client.client_id!r} is configured twice")
        clients[client.client_id] = client
    return clients


def verify_secret(client: Client | None, secret: str) -> bool:
    """Whether `secret` is the client's (slow on purpose: argon2; run it off the event loop)."""
    try:
        return _hasher.verify(client.secret_hash if client else _DUMMY_HASH, secret) and client is not None
    except (VerificationError, InvalidHashError):
        return False


def new_client(
    role: Role, regions: list[str], client_id: str, *, extra_scopes: Iterable[Scope] = (), description: str = ""
) -> tuple[dict, str]:
    """A configuration entry with a fresh secret (returned once, stored only hashed) and the secret."""
    secret = secrets.token_urlsafe(32)
    client = Client(
        client_id=client_id,
        secret_hash=_hasher.hash(secret),
        role=role,
        regions=regions,
        extra_scopes=list(extra_scopes),
        description=description,
    )
    return client.model_dump(mode="json"), secret
