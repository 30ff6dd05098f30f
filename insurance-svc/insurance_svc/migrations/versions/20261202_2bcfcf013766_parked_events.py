"""Events a consumer set aside after they failed on their own (kernel.consumer), for an operator to
inspect and retry.

Revision ID: 2bcfcf013766
Revises: ebe1289f5459
Create Date: 2026-12-02 18:00:00
"""

from kernel import migration_steps

revision = "2bcfcf013766"
down_revision = "ebe1289f5459"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_parked_events()


def downgrade() -> None:
    migration_steps.drop_parked_events()
