"""The request and response bodies of the gateway's own endpoints (api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
                    "client_id": "hohhot-officer",
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
    client_id: str
    role: str
    person_ref: str
    action: Action
    route: str = Field(description="the route's method and template, e.g. GET /api/v1/matcher/persons/{person_ref}")
    status: int
    request_id: str | None
