"""The outbox wakes its relay: a statement-level trigger issues NOTIFY when a transaction that filled it
commits (kernel.migration_steps.add_outbox_notify).

Revision ID: 18469b5fb4eb
Revises: d99ba0785a6a
Create Date: 2026-12-10 09:00:00
"""

from kernel import migration_steps

revision = "18469b5fb4eb"
down_revision = "d99ba0785a6a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_outbox_notify()


def downgrade() -> None:
    migration_steps.drop_outbox_notify()
