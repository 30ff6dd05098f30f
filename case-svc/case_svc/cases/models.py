"""Cases' tables: cases, the findings they carry (a projection of matcher.findings) and on-site check tasks."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Integer, Table, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from case_svc.db import metadata

cases = Table(
    "cases",
    metadata,
    Column("case_id", UUID(as_uuid=True), primary_key=True),
    Column("case_ref", Text, nullable=False, unique=True),
    Column("person_ref", Text, nullable=False),
    Column("masked_id", Text),
    Column("name", Text),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("campaign_id", Text, ForeignKey("campaigns.campaign_id")),
    Column("status", Text, nullable=False),
    Column("opened_by", Text, nullable=False),  # finding | complaint | officer
    Column("opened_reason", Text),
    Column("notice_date", Date),
    Column("reply_due", Date),
    Column("answer", JSONB),
    Column("reviews", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("returns_to", Text),  # after a send-back: the step the case resumes at
    Column("send_back_reason", Text),
    Column("outcome", Text),
    Column("outcome_reason", Text),
    Column("authority", Text),
    Column("decision", JSONB),
    Column("sanctions", JSONB),
    Column("decided_on", Date),
    Column("closed_at", DateTime(timezone=True)),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Case work: the officer it is assigned to, the working lock (办理锁: holder and the end of its lease),
    # the review deadline and how the current deadline was counted (working days), and 督办.
    Column("review_due", Date),
    Column("due_basis", JSONB),
    Column("assignee", Text),
    Column("assigned_at", DateTime(timezone=True)),
    Column("lock_holder", Text),
    Column("lock_expires_at", DateTime(timezone=True)),
    Column("supervision_deadline", Date),  # set while the province supervises the case (挂牌督办)
    Column("supervision", JSONB),  # {deadline, note, by, at}
    # One open (undecided) case per person: new findings join it.
    Index(
        "uq_cases_person_ref_undecided",
        "person_ref",
        unique=True,
        postgresql_where=text("status NOT IN ('decided', 'closed')"),
    ),
    Index(None, "region_code", "case_id"),
    Index(None, "status", "reply_due"),
    Index(None, "assignee", "status"),
    Index(None, "supervision_deadline"),
    # Finding a case by name, exactly or by its beginning.
    Index("ix_cases_name", "name", postgresql_ops={"name": "text_pattern_ops"}),
)

# Every finding seen on matcher.findings, as last published, and the case it joined (if any).
findings = Table(
    "findings",
    metadata,
    Column("finding_id", UUID(as_uuid=True), primary_key=True),
    Column("person_ref", Text, nullable=False),
    Column("masked_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("rule", Text, nullable=False),
    Column("status", Text, nullable=False),  # open | exempted | cleared
    Column("exemption", Text),
    Column("severity", Text, nullable=False),
    Column("review_month", Text, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.case_id")),
    Index(None, "person_ref"),
    Index(None, "case_id"),
    Index(None, "region_code", "first_seen"),
)

# 到岗履职检查: a unit whose confirmed cases reach the campaign's threshold gets its projects'
# key staff checked on site; one task per unit and campaign.
attendance_checks = Table(
    "attendance_checks",
    metadata,
    Column("check_id", UUID(as_uuid=True), primary_key=True),
    Column("campaign_id", Text, ForeignKey("campaigns.campaign_id"), nullable=False),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("unit_key", Text, nullable=False),  # the unit's USCC, else its name
    Column("unit_name", Text, nullable=False),
    Column("unit_uscc", Text),
    Column("confirmed_cases", Integer, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("campaign_id", "unit_key"),
)
