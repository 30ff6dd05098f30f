"""Publication lists (公示) as the API reads and writes them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from case_svc import examples
from case_svc.cases.schemas import Strict, example
from kernel.values import PlausibleDate


class PublicationIn(Strict):
    """Draft the publication list of a province's confirmed cases decided in a period."""

    model_config = example(examples.PUBLICATION_IN)

    region_code: str = Field(pattern=r"^\d{2}0000$", description="the province")
    starts_on: PlausibleDate = Field(alias="from", description="first day of the decisions' period")
    ends_on: PlausibleDate = Field(alias="to", description="last day of the decisions' period")

    @model_validator(mode="after")
    def _ordered(self) -> PublicationIn:
        if self.ends_on < self.starts_on:
            raise ValueError("the period ends on or after the day it starts")
        return self


class PublishedRow(BaseModel):
    """What may be published of one confirmed case (and nothing more: no full ID number, no payment history)."""

    case_ref: str
    person_ref: str | None = Field(
        None, description="the person's pseudonymous reference: for the gateway's access log, never exported"
    )
    name: str | None
    masked_id: str | None
    categories: str = Field(description="注册类别及证书编号")
    unit_name: str
    unit_uscc: str | None
    record: str = Field(description="不良行为记录: the behaviour and its sanctions")
    decision_number: str
    decided_on: date
    authority: str


class Publication(BaseModel):
    """A publication list: drafted with its rows fixed, then approved by another officer of the province; only
    an approved list is exported for the provincial credit platform."""

    model_config = example(examples.PUBLICATION)

    publication_id: uuid.UUID
    region_code: str
    period_from: date
    period_to: date
    title: str
    status: Literal["draft", "approved"]
    rows: list[PublishedRow]
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None

    def masked(self) -> Self:
        return self.model_copy(
            update={"rows": [r.model_copy(update={"name": None, "masked_id": None}) for r in self.rows]}
        )
