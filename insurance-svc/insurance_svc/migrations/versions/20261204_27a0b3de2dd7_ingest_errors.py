"""Every row error of an upload, for its download; why a whole upload was refused.

Revision ID: 27a0b3de2dd7
Revises: 044474bd8048
Create Date: 2026-12-04 09:00:00
"""

from kernel import migration_steps

revision = "27a0b3de2dd7"
down_revision = "044474bd8048"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_ingest_errors()


def downgrade() -> None:
    migration_steps.drop_ingest_errors()
