"""A person whose ID number fails its check character (accepted by the client's profile) is flagged.

Revision ID: 3378d6c743b6
Revises: 8b3e5d7a1c42
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "3378d6c743b6"
down_revision = "8b3e5d7a1c42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "persons", sa.Column("id_checksum_failed", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("persons", "id_checksum_failed")
