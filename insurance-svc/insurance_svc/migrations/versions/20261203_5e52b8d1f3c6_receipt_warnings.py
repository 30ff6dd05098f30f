"""Receipts say what was accepted with a warning and which columns of the file no field reads.

Revision ID: 5e52b8d1f3c6
Revises: 2bcfcf013766
Create Date: 2026-12-03 01:30:00
"""

from kernel import migration_steps

revision = "5e52b8d1f3c6"
down_revision = "2bcfcf013766"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_warnings()


def downgrade() -> None:
    migration_steps.drop_receipt_warnings()
