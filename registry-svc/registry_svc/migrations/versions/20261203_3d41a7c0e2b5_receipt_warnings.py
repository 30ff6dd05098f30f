"""Receipts say what was accepted with a warning and which columns of the file no field reads.

Revision ID: 3d41a7c0e2b5
Revises: b8080a2a277b
Create Date: 2026-12-03 01:30:00
"""

from kernel import migration_steps

revision = "3d41a7c0e2b5"
down_revision = "b8080a2a277b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_receipt_warnings()


def downgrade() -> None:
    migration_steps.drop_receipt_warnings()
