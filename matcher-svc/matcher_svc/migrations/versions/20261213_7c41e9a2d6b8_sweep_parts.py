"""A sweep goes through its people in parts (`sweep_parts`: consecutive ranges of keys, each with its own
progress), so that the evaluation worker's helper processes run parts beside the process that runs the sweep:
the rules run in Python, one process at one core's pace. A sweep in flight goes on as one part from its progress.

Revision ID: 7c41e9a2d6b8
Revises: 5e1d7a9c3b20
Create Date: 2026-12-13 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "7c41e9a2d6b8"
down_revision = "5e1d7a9c3b20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_parts",
        sa.Column(
            "sweep_id", UUID(as_uuid=True), sa.ForeignKey("sweeps.sweep_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("after_key", sa.Text, nullable=False, server_default=""),
        sa.Column("last_key", sa.Text),
        sa.Column("finished", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.execute(
        "INSERT INTO sweep_parts (sweep_id, part, after_key, finished) "
        "SELECT sweep_id, 0, after_key, status <> 'running' FROM sweeps"
    )
    op.drop_column("sweeps", "after_key")


def downgrade() -> None:
    op.add_column("sweeps", sa.Column("after_key", sa.Text, nullable=False, server_default=""))
    # Everyone up to the first unfinished part's progress was evaluated: the one sweep goes on from there.
    op.execute(
        "UPDATE sweeps s SET after_key = coalesce((SELECT after_key FROM sweep_parts p WHERE p.sweep_id = s.sweep_id "
        "AND NOT p.finished ORDER BY part LIMIT 1), '')"
    )
    op.drop_table("sweep_parts")
