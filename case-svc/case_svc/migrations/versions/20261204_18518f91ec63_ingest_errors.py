"""Every row error of an upload, for its download; why a whole upload was refused.

Revision ID: 18518f91ec63
Revises: 9b85ebf4c6f9
Create Date: 2026-12-04 09:00:00
"""

from kernel import migration_steps

revision = "18518f91ec63"
down_revision = "9b85ebf4c6f9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_ingest_errors()


def downgrade() -> None:
    migration_steps.drop_ingest_errors()
