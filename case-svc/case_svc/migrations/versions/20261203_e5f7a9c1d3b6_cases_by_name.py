"""Officers find a case by the person's name, exactly or by its beginning (GET /api/v1/cases?person_name=…):
an index that serves both (text_pattern_ops: `=` and `LIKE 'prefix%'`).

Revision ID: e5f7a9c1d3b6
Revises: b8b3950171b3
Create Date: 2026-12-03 09:00:00
"""

from alembic import op

revision = "e5f7a9c1d3b6"
down_revision = "b8b3950171b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_name", "cases", ["name"], postgresql_ops={"name": "text_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_cases_name", table_name="cases")
