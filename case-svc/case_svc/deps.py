"""Dependencies every route of case-svc shares: who acts, and the JSON helpers of the raw SQL layer.

Who acts comes from trusted headers the gateway sets after authenticating the caller: `X-Actor`
(the officer's or client's id) and `X-Actor-Role`. The gateway removes such headers from clients.
A request without them comes from inside the suite (an operator on the service's own port, a
test) and acts as `system`. The audit trail records the actor of every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header

ACTOR_HEADER = "X-Actor"
ACTOR_ROLE_HEADER = "X-Actor-Role"
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Actor:
    id: str
    role: str | None = None


def current_actor(
    x_actor: Annotated[str | None, Header(alias=ACTOR_HEADER, max_length=128)] = None,
    x_actor_role: Annotated[str | None, Header(alias=ACTOR_ROLE_HEADER, max_length=64)] = None,
) -> Actor:
    return Actor(id=x_actor or SYSTEM_ACTOR, role=x_actor_role or ("internal" if not x_actor else None))


ActorDep = Annotated[Actor, Depends(current_actor)]


def to_jsonb(value: Any) -> str:
    """A value bound to a jsonb parameter (the SQLAlchemy asyncpg codecs exchange jsonb as text)."""
    return orjson.dumps(value, default=str).decode()


def from_jsonb(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value
