"""The 公积金 feed's months are no longer counted in `data_months`: only the 社保 feed's say anything of those who
did not pay (SI_NONE), and every batch of deposits updated (and locked until it committed) the same few rows to
count them for nobody. The counts kept so far go.

Revision ID: 9d2b6f4e1a73
Revises: 7c41e9a2d6b8
Create Date: 2026-12-14 09:00:00
"""

from alembic import op

revision = "9d2b6f4e1a73"
down_revision = "7c41e9a2d6b8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM data_months WHERE source = 'fund'")


def downgrade() -> None:
    # The counts again from the deposits the projection holds, as the code before this revision kept them.
    op.execute(
        "INSERT INTO data_months (source, province, period, records) "
        "SELECT 'fund', left(m.region_code, 2), m.period, count(*) FROM person_payments p, "
        "unnest(p.region_codes, p.periods) AS m(region_code, period) WHERE p.source = 'fund' GROUP BY 2, 3"
    )
