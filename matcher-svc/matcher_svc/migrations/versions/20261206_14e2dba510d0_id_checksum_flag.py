"""A person whose ID number fails its check character is flagged in the projection (the findings' evidence says so).

Revision ID: 14e2dba510d0
Revises: 0949af23399e
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "14e2dba510d0"
down_revision = "0949af23399e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "people", sa.Column("id_checksum_failed", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("people", "id_checksum_failed")
