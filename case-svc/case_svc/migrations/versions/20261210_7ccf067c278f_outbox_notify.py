"""The outbox wakes its relay: a statement-level trigger issues NOTIFY when a transaction that filled it
commits (kernel.migration_steps.add_outbox_notify).

Revision ID: 7ccf067c278f
Revises: ad0b41767bf8
Create Date: 2026-12-10 09:00:00
"""

from kernel import migration_steps

revision = "7ccf067c278f"
down_revision = "ad0b41767bf8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_outbox_notify()


def downgrade() -> None:
    migration_steps.drop_outbox_notify()
