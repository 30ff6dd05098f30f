"""Events a consumer set aside after they failed on their own (kernel.consumer), for an operator to
inspect and retry.

Revision ID: b8080a2a277b
Revises: 8fb297c07a30
Create Date: 2026-12-02 18:00:00
"""

from kernel import migration_steps

revision = "b8080a2a277b"
down_revision = "8fb297c07a30"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_parked_events()


def downgrade() -> None:
    migration_steps.drop_parked_events()
