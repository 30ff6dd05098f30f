"""`data_months` counts the paid months behind each (source, province, period), so a month whose every
record was retracted stops counting as delivered, and the projection knows when a month appears or
disappears; sweeps gain a purpose (an audit re-evaluates from the projection and counts what it had to
repair), a sample and the count of findings they changed.

Revision ID: 5d1e0a7c2b91
Revises: 59b13e5f0fae
Create Date: 2026-12-03 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5d1e0a7c2b91"
down_revision = "59b13e5f0fae"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("data_months", sa.Column("records", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute("DELETE FROM data_months")
    op.execute(
        "INSERT INTO data_months (source, province, period, records) "
        "SELECT source, left(region_code, 2), period, count(*) FROM paid_months GROUP BY 1, 2, 3"
    )
    op.add_column("sweeps", sa.Column("purpose", sa.Text(), nullable=False, server_default="evaluation"))
    op.add_column("sweeps", sa.Column("sample_percent", sa.Integer(), nullable=False, server_default="100"))
    op.add_column("sweeps", sa.Column("changed", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("sweeps", "changed")
    op.drop_column("sweeps", "sample_percent")
    op.drop_column("sweeps", "purpose")
    op.drop_column("data_months", "records")
