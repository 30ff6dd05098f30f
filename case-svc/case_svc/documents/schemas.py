"""Document numbers as the API reads them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from case_svc import examples
from case_svc.cases.schemas import example


class DocumentNumber(BaseModel):
    """A document's number (文号), issued the first time the document is generated and never again."""

    model_config = example(examples.DOCUMENT_NUMBER)

    document: str = Field(description="notice, intended-decision, decision, or proof-of-service:<the document served>")
    title: str
    number: str
    authority_code: str = Field(description="the issuing bureau's region")
    issued_on: date
    issued_by: str
    issued_at: datetime
