"""The request and response bodies of the gateway's own endpoints (api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# What a person-access entry records: a forwarded read of a person's data, a lookup by ID number, a reveal.
Action = Literal["read", "lookup", "reveal"]


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(examples=[900])
    scope: str = Field(examples=["cases:read findings:read persons:read"])


class LookupRequest(BaseModel):
    id_number: str = Field(
        max_length=32, description="居民身份证号码; sent in the body only", examples=["150102199003070012"]
    )


class LookupResult(BaseModel):
    person_ref: str = Field(examples=["4f1c2a9b7d3e5f60718293a4b5"])
    masked_id: str = Field(examples=["150102**********12"])


class Identity(BaseModel):
    person_ref: str
    id_number: str = Field(examples=["150102199003070012"])
    masked_id: str
    name: str


class PersonAccess(BaseModel):
    access_id: int
    at: datetime
    client_id: str
    role: str
    person_ref: str
    action: Action
    route: str = Field(examples=["GET /api/v1/matcher/persons/{person_ref}"])
    status: int
    request_id: str | None
