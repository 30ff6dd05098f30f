"""Batches of contributions note their months' changes (`data_month_changes`) and the evaluation worker counts them
into `data_months` (`projection.fold_data_months`): counting in every batch locked the same few rows until the
batch committed, so the projection's consumer members and instances applied their batches' ends in turn.

Revision ID: 4a8c2e7f5b19
Revises: 9d2b6f4e1a73
Create Date: 2026-12-15 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "4a8c2e7f5b19"
down_revision = "9d2b6f4e1a73"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_month_changes",
        sa.Column("change", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("province", sa.Text, nullable=False),
        sa.Column("period", sa.Text, nullable=False),
        sa.Column("records", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    # What was noted and not counted yet is counted as the code before this revision did in each batch (whoever
    # a month that arrived or went away concerns was queued by the fold that did not run: a sweep finds them).
    op.execute(
        "INSERT INTO data_months AS d (source, province, period, records) "
        "SELECT 'insurance', province, period, sum(records) FROM data_month_changes GROUP BY province, period "
        "ON CONFLICT (source, province, period) DO UPDATE SET records = d.records + excluded.records"
    )
    op.execute("DELETE FROM data_months WHERE records <= 0")
    op.drop_table("data_month_changes")
