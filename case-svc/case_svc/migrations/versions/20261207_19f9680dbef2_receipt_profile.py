"""Receipts name the feed client's profile (and its version) an upload was read and judged by.

Revision ID: 19f9680dbef2
Revises: 18518f91ec63
Create Date: 2026-12-07 09:00:00
"""

from kernel import migration_steps

revision = "19f9680dbef2"
down_revision = "18518f91ec63"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_profile()


def downgrade() -> None:
    migration_steps.drop_receipt_profile()
