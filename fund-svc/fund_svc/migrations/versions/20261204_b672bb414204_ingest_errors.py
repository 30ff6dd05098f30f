"""Every row error of an upload, for its download; why a whole upload was refused.

Revision ID: b672bb414204
Revises: c9cdc3d4b27c
Create Date: 2026-12-04 09:00:00
"""

from kernel import migration_steps

revision = "b672bb414204"
down_revision = "c9cdc3d4b27c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_ingest_errors()


def downgrade() -> None:
    migration_steps.drop_ingest_errors()
