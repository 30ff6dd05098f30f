"""Attachments as the API reads them: an attachment's record (its content is downloaded on its own)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from case_svc import examples
from case_svc.cases.schemas import example

# The kinds of evidence a case keeps: 核查记录 (on-site check record), 约谈笔录 (interview record), 照片 (photos),
# 情况说明 (a unit's or person's written statement), 其他 (other).
AttachmentKind = Literal["核查记录", "约谈笔录", "照片", "情况说明", "其他"]


class Attachment(BaseModel):
    """An attachment as stored: never altered or deleted. `sha256` is of the content as downloaded; the
    content type is the one read from the content."""

    model_config = example(examples.ATTACHMENT)

    attachment_id: uuid.UUID
    case_id: uuid.UUID
    number: int = Field(description="its number within the case: GET …/attachments/{number}")
    kind: AttachmentKind
    note: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_by_role: str | None
    uploaded_at: datetime
