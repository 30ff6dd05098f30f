"""The evaluation queue's oldest entry is found by an index: the worker asks after every batch its consumers
apply, and a first load queues a whole province.

Revision ID: 3b8f0c2d9e47
Revises: 18469b5fb4eb
Create Date: 2026-12-11 09:00:00
"""

from alembic import op

revision = "3b8f0c2d9e47"
down_revision = "18469b5fb4eb"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_pending_evaluations_since", "pending_evaluations", ["since"])


def downgrade() -> None:
    op.drop_index("ix_pending_evaluations_since", table_name="pending_evaluations")
