"""Receipts say what was accepted with a warning and which columns of the file no field reads.

Revision ID: 3d41a7c0e2b5
Revises: b8080a2a277b
Create Date: 2026-12-03 01:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "3d41a7c0e2b5"
down_revision = "b8080a2a277b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.add_column("ingest_batches", sa.Column("warnings", jsonb, server_default=sa.text("'[]'::jsonb"), nullable=False))
    op.add_column(
        "ingest_batches", sa.Column("warnings_omitted", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "ingest_batches", sa.Column("ignored_columns", jsonb, server_default=sa.text("'[]'::jsonb"), nullable=False)
    )


def downgrade() -> None:
    for column in ("ignored_columns", "warnings_omitted", "warnings"):
        op.drop_column("ingest_batches", column)
