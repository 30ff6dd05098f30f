"""Events a consumer set aside after they failed on their own (kernel.consumer), for an operator to
inspect and retry.

Revision ID: e9f8d35529b0
Revises: bb6e2cf0fe97
Create Date: 2026-12-02 18:00:00
"""

from kernel import migration_steps

revision = "e9f8d35529b0"
down_revision = "bb6e2cf0fe97"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_parked_events()


def downgrade() -> None:
    migration_steps.drop_parked_events()
