"""Case work: assignment and the working lock, review deadlines and how each deadline was counted (working
days), 督办; attachments, document numbers and frozen month tables, each append-only (a trigger refuses
UPDATE, DELETE and TRUNCATE; the privileges are revoked, as for audit_log); publication lists (公示).

Revision ID: 8a820741af99
Revises: 19f9680dbef2
Create Date: 2026-12-08 09:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from kernel import migration_steps

revision = "8a820741af99"
down_revision = "19f9680dbef2"
branch_labels = None
depends_on = None

APPEND_ONLY = ("case_attachments", "document_numbers", "frozen_reports")


def upgrade() -> None:
    op.add_column("cases", sa.Column("review_due", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("due_basis", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("cases", sa.Column("assignee", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("lock_holder", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("lock_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("supervision_deadline", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("supervision", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.create_index(op.f("ix_cases_assignee_status"), "cases", ["assignee", "status"], unique=False)
    op.create_index(op.f("ix_cases_supervision_deadline"), "cases", ["supervision_deadline"], unique=False)
    op.create_table(
        "case_attachments",
        sa.Column("attachment_id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("uploaded_by_role", sa.Text(), nullable=True),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"], name=op.f("fk_case_attachments_case_id_cases")),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_case_attachments")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_case_attachments_case_id_number")),
    )
    op.create_table(
        "document_numbers",
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("authority_code", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"], name=op.f("fk_document_numbers_case_id_cases")),
        sa.UniqueConstraint("case_id", "document", name=op.f("uq_document_numbers_case_id_document")),
        sa.UniqueConstraint("number", name=op.f("uq_document_numbers_number")),
        sa.UniqueConstraint("prefix", "year", "sequence", name=op.f("uq_document_numbers_prefix_year_sequence")),
    )
    op.create_table(
        "frozen_reports",
        sa.Column("report_key", sa.Text(), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.PrimaryKeyConstraint("report_key", name=op.f("pk_frozen_reports")),
    )
    op.create_table(
        "publications",
        sa.Column("publication_id", sa.UUID(), nullable=False),
        sa.Column("region_code", sa.Text(collation="C"), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("rows", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("approved_by", sa.Text(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("publication_id", name=op.f("pk_publications")),
    )
    op.create_index(
        op.f("ix_publications_region_code_publication_id"),
        "publications",
        ["region_code", "publication_id"],
        unique=False,
    )
    for table in APPEND_ONLY:
        migration_steps.refuse_changes(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        migration_steps.allow_changes(table)
    op.drop_index(op.f("ix_publications_region_code_publication_id"), table_name="publications")
    op.drop_table("publications")
    op.drop_table("frozen_reports")
    op.drop_table("document_numbers")
    op.drop_table("case_attachments")
    op.drop_index(op.f("ix_cases_supervision_deadline"), table_name="cases")
    op.drop_index(op.f("ix_cases_assignee_status"), table_name="cases")
    for column in (
        "supervision",
        "supervision_deadline",
        "lock_expires_at",
        "lock_holder",
        "assigned_at",
        "assignee",
        "due_basis",
        "review_due",
    ):
        op.drop_column("cases", column)
