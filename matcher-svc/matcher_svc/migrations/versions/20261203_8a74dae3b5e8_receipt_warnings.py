"""Receipts say what was accepted with a warning and which columns of the file no field reads.

Revision ID: 8a74dae3b5e8
Revises: 7c3e9a1f4b26
Create Date: 2026-12-03 01:30:00
"""

from kernel import migration_steps

revision = "8a74dae3b5e8"
down_revision = "7c3e9a1f4b26"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_warnings()


def downgrade() -> None:
    migration_steps.drop_receipt_warnings()
