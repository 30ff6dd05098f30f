"""Receipts name the feed client's profile (and its version) an upload was read and judged by.

Revision ID: e4933721092b
Revises: 601284fcd072
Create Date: 2026-12-07 09:00:00
"""

from kernel import migration_steps

revision = "e4933721092b"
down_revision = "601284fcd072"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_profile()


def downgrade() -> None:
    migration_steps.drop_receipt_profile()
