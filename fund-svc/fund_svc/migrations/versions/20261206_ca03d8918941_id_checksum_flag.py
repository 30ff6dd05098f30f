"""A person whose ID number fails its check character (accepted by the client's profile) is flagged.

Revision ID: ca03d8918941
Revises: d2c7f9a4e615
Create Date: 2026-12-06 09:00:00
"""

from kernel import migration_steps

revision = "ca03d8918941"
down_revision = "d2c7f9a4e615"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_id_checksum_flag("persons")


def downgrade() -> None:
    migration_steps.drop_id_checksum_flag("persons")
