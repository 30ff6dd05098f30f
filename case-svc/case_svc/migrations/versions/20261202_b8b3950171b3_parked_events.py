"""Events a consumer set aside after they failed on their own (kernel.consumer), for an operator to
inspect and retry.

Revision ID: b8b3950171b3
Revises: d4e8a1c7b9f2
Create Date: 2026-12-02 18:00:00
"""

from kernel import migration_steps

revision = "b8b3950171b3"
down_revision = "d4e8a1c7b9f2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_parked_events()


def downgrade() -> None:
    migration_steps.drop_parked_events()
