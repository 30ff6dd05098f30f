"""A person whose ID number fails its check character (accepted by the client's profile) is flagged.

Revision ID: ca03d8918941
Revises: d2c7f9a4e615
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "ca03d8918941"
down_revision = "d2c7f9a4e615"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "persons", sa.Column("id_checksum_failed", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("persons", "id_checksum_failed")
