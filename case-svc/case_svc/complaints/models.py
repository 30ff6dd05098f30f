"""Complaints' tables (投诉举报): every complaint as registered, and the cases it is linked to."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, PrimaryKeyConstraint, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

from case_svc.db import metadata

complaints = Table(
    "complaints",
    metadata,
    Column("complaint_id", UUID(as_uuid=True), primary_key=True),
    Column("registration_no", Text, nullable=False, unique=True),
    Column("campaign_id", Text, ForeignKey("campaigns.campaign_id")),
    Column("channel", Text, nullable=False),
    Column("received_on", Date, nullable=False),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("subject_person_ref", Text),
    Column("subject_unit_name", Text),
    Column("subject_unit_uscc", Text),
    Column("content", Text, nullable=False),
    Column("status", Text, nullable=False),  # registered | assigned | answered
    Column("assignee", Text),
    Column("due_on", Date, nullable=False),
    Column("answer", Text),
    Column("answered_on", Date),
    Column("answered_by", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "region_code", "complaint_id"),
    Index(None, "subject_person_ref"),
)

complaint_cases = Table(
    "complaint_cases",
    metadata,
    Column("complaint_id", UUID(as_uuid=True), ForeignKey("complaints.complaint_id"), nullable=False),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.case_id"), nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("complaint_id", "case_id"),
    Index(None, "case_id"),
)
