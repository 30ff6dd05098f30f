"""Every row error of an upload, for its download; why a whole upload was refused.

Revision ID: 18518f91ec63
Revises: 9b85ebf4c6f9
Create Date: 2026-12-04 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "18518f91ec63"
down_revision = "9b85ebf4c6f9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.add_column("ingest_batches", sa.Column("reason", jsonb, nullable=True))
    op.create_table(
        "ingest_errors",
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("column_name", sa.Text(), nullable=True),
        sa.Column("column_number", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("params", jsonb, nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_ingest_errors")),
    )


def downgrade() -> None:
    op.drop_table("ingest_errors")
    op.drop_column("ingest_batches", "reason")
