"""Every row error of an upload, for its download; why a whole upload was refused.

Revision ID: 767983b00a9f
Revises: 79adc9a84d67
Create Date: 2026-12-04 09:00:00
"""

from kernel import migration_steps

revision = "767983b00a9f"
down_revision = "79adc9a84d67"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_ingest_errors()


def downgrade() -> None:
    migration_steps.drop_ingest_errors()
