"""A person whose ID number fails its check character (accepted by the client's profile) is flagged.

Revision ID: 3378d6c743b6
Revises: 8b3e5d7a1c42
Create Date: 2026-12-06 09:00:00
"""

from kernel import migration_steps

revision = "3378d6c743b6"
down_revision = "8b3e5d7a1c42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_id_checksum_flag("persons")


def downgrade() -> None:
    migration_steps.drop_id_checksum_flag("persons")
