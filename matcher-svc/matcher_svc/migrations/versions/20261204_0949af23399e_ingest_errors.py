"""Every row error of an upload, for its download; why a whole upload was refused.

Revision ID: 0949af23399e
Revises: 8a74dae3b5e8
Create Date: 2026-12-04 09:00:00
"""

from kernel import migration_steps

revision = "0949af23399e"
down_revision = "8a74dae3b5e8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_ingest_errors()


def downgrade() -> None:
    migration_steps.drop_ingest_errors()
