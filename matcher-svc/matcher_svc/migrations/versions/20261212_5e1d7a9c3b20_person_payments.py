"""A person's paid months of one source are one row (`person_payments`, the months as parallel arrays in
(period, unit) order) instead of a row a month (`paid_months`): the consumer replaces them whole anyway, and a
province's first load wrote 1.1 million index entries for them (half of it as one row a person, measured).

Revision ID: 5e1d7a9c3b20
Revises: 3b8f0c2d9e47
Create Date: 2026-12-12 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5e1d7a9c3b20"
down_revision = "3b8f0c2d9e47"
branch_labels = None
depends_on = None

_MONTH_ORDER = "ORDER BY period, unit_uscc"


def upgrade() -> None:
    op.create_table(
        "person_payments",
        sa.Column("person_key", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        *(
            sa.Column(name, sa.ARRAY(sa.Text()), nullable=False)
            for name in ("periods", "unit_usccs", "unit_names", "region_codes", "batch_ids", "insurance_types")
        ),
        sa.PrimaryKeyConstraint("person_key", "source", name=op.f("pk_person_payments")),
    )
    op.create_index(op.f("ix_person_payments_unit_usccs"), "person_payments", ["unit_usccs"], postgresql_using="gin")
    op.execute(
        "INSERT INTO person_payments SELECT person_key, source, "
        f"array_agg(period {_MONTH_ORDER}), array_agg(unit_uscc {_MONTH_ORDER}), array_agg(unit_name {_MONTH_ORDER}), "
        f"array_agg(region_code {_MONTH_ORDER}), array_agg(batch_id {_MONTH_ORDER}), "
        f"array_agg(array_to_string(insurance_types, ',') {_MONTH_ORDER}) FROM paid_months GROUP BY person_key, source"
    )
    op.drop_index(op.f("ix_paid_months_unit_uscc"), table_name="paid_months")
    op.drop_table("paid_months")


def downgrade() -> None:
    op.create_table(
        "paid_months",
        sa.Column("person_key", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("unit_uscc", sa.Text(), nullable=False),
        sa.Column("unit_name", sa.Text(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("insurance_types", sa.ARRAY(sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("person_key", "source", "period", "unit_uscc", name=op.f("pk_paid_months")),
    )
    op.create_index(op.f("ix_paid_months_unit_uscc"), "paid_months", ["unit_uscc"], unique=False)
    op.execute(
        "INSERT INTO paid_months SELECT p.person_key, p.source, m.period, m.unit_uscc, m.unit_name, m.region_code, "
        "m.batch_id, string_to_array(m.types, ',') FROM person_payments p, "
        "unnest(p.periods, p.unit_usccs, p.unit_names, p.region_codes, p.batch_ids, p.insurance_types) "
        "AS m(period, unit_uscc, unit_name, region_code, batch_id, types)"
    )
    op.drop_index(op.f("ix_person_payments_unit_usccs"), table_name="person_payments")
    op.drop_table("person_payments")
