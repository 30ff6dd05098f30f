"""The outbox wakes its relay: a statement-level trigger issues NOTIFY when a transaction that filled it
commits (kernel.migration_steps.add_outbox_notify).

Revision ID: 46a392065e60
Revises: b241ab6c43a7
Create Date: 2026-12-10 09:00:00
"""

from kernel import migration_steps

revision = "46a392065e60"
down_revision = "b241ab6c43a7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_outbox_notify()


def downgrade() -> None:
    migration_steps.drop_outbox_notify()
