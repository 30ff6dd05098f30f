"""The outbox wakes its relay: a statement-level trigger issues NOTIFY when a transaction that filled it
commits (kernel.migration_steps.add_outbox_notify).

Revision ID: ac97199bdf2b
Revises: 274ed3daf1e9
Create Date: 2026-12-10 09:00:00
"""

from kernel import migration_steps

revision = "ac97199bdf2b"
down_revision = "274ed3daf1e9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_outbox_notify()


def downgrade() -> None:
    migration_steps.drop_outbox_notify()
