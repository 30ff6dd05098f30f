"""Receipts name the feed client's profile (and its version) an upload was read and judged by.

Revision ID: 8d2ab83841aa
Revises: ca03d8918941
Create Date: 2026-12-07 09:00:00
"""

from kernel import migration_steps

revision = "8d2ab83841aa"
down_revision = "ca03d8918941"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_profile()


def downgrade() -> None:
    migration_steps.drop_receipt_profile()
