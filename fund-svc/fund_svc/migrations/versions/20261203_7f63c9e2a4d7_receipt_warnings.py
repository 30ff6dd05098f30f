"""Receipts say what was accepted with a warning and which columns of the file no field reads.

Revision ID: 7f63c9e2a4d7
Revises: e9f8d35529b0
Create Date: 2026-12-03 01:30:00
"""

from kernel import migration_steps

revision = "7f63c9e2a4d7"
down_revision = "e9f8d35529b0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_warnings()


def downgrade() -> None:
    migration_steps.drop_receipt_warnings()
