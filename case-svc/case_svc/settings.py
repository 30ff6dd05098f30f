"""case-svc's settings: the shared ones plus the defaults of case handling a campaign may override."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from kernel.settings import ServiceSettings


class CaseSettings(ServiceSettings):
    default_reply_days: int = Field(
        15, ge=1, description="working days (工作日) to answer a notice when no campaign says"
    )
    review_working_days: int = Field(
        10, ge=1, description="working days each review (审查, 复审, 决定) has once the case reaches it (policy choice)"
    )
    attendance_check_threshold: int = Field(
        3, ge=1, description="confirmed cases at one unit that start an on-site attendance check (到岗履职)"
    )
    complaint_due_days: int = Field(15, ge=1, description="days to answer a complaint (policy choice)")
    case_lock_minutes: int = Field(
        30, ge=1, le=24 * 60, description="the working lock's lease (办理锁), renewed by each action of its holder"
    )
    attachment_max_bytes: int = Field(
        20 * 1024**2, ge=1024, description="the largest attachment (附件) a case takes, in bytes"
    )
    notice_due_within_working_days: int = Field(
        3, ge=0, description="in-app notices: a deadline this many working days away or nearer is 'coming due'"
    )
    document_font: Path | None = Field(
        None,
        description="a CJK font (TrueType/OpenType, .ttf/.otf/.ttc) the printable documents are set in; when "
        "absent the first installed of Debian's fonts-noto-cjk, fonts-wqy-zenhei or fonts-wqy-microhei",
    )
