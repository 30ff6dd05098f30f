"""Receipts say what was accepted with a warning and which columns of the file no field reads.

Revision ID: 9b85ebf4c6f9
Revises: e5f7a9c1d3b6
Create Date: 2026-12-03 01:30:00
"""

from kernel import migration_steps

revision = "9b85ebf4c6f9"
down_revision = "e5f7a9c1d3b6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_warnings()


def downgrade() -> None:
    migration_steps.drop_receipt_warnings()
