"""Receipts name the feed client's profile (and its version) an upload was read and judged by.

Revision ID: c243066c9659
Revises: 3378d6c743b6
Create Date: 2026-12-07 09:00:00
"""

from kernel import migration_steps

revision = "c243066c9659"
down_revision = "3378d6c743b6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_profile()


def downgrade() -> None:
    migration_steps.drop_receipt_profile()
