"""Events a consumer set aside after they failed on their own (kernel.consumer), for an operator to
inspect and retry.

Revision ID: 59b13e5f0fae
Revises: c411c89b2a5a
Create Date: 2026-12-02 18:00:00
"""

from kernel import migration_steps

revision = "59b13e5f0fae"
down_revision = "c411c89b2a5a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_parked_events()


def downgrade() -> None:
    migration_steps.drop_parked_events()
