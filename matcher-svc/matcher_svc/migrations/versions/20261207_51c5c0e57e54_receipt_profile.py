"""Receipts name the feed client's profile (and its version) an upload was read and judged by.

Revision ID: 51c5c0e57e54
Revises: 14e2dba510d0
Create Date: 2026-12-07 09:00:00
"""

from kernel import migration_steps

revision = "51c5c0e57e54"
down_revision = "14e2dba510d0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_profile()


def downgrade() -> None:
    migration_steps.drop_receipt_profile()
