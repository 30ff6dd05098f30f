"""A person whose ID number fails its check character (accepted by the client's profile) is flagged.

Revision ID: 601284fcd072
Revises: 4f1a6c2e9d80
Create Date: 2026-12-06 09:00:00
"""

from kernel import migration_steps

revision = "601284fcd072"
down_revision = "4f1a6c2e9d80"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_id_checksum_flag("persons")


def downgrade() -> None:
    migration_steps.drop_id_checksum_flag("persons")
