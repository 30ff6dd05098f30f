"""A person whose ID number fails its check character is flagged in the projection (the findings' evidence says so).

Revision ID: 14e2dba510d0
Revises: 0949af23399e
Create Date: 2026-12-06 09:00:00
"""

from kernel import migration_steps

revision = "14e2dba510d0"
down_revision = "0949af23399e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_id_checksum_flag("people")


def downgrade() -> None:
    migration_steps.drop_id_checksum_flag("people")
