"""The register (registrations from registry.registrations): the summary table's people checked (核查人数)
counts the people on it with an active registration.

Revision ID: d4e8a1c7b9f2
Revises: b7e2c9d41a03
Create Date: 2026-12-02 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d4e8a1c7b9f2"
down_revision = "b7e2c9d41a03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registrations",
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("certificate_no", sa.Text(), nullable=False),
        sa.Column("person_ref", sa.Text(), nullable=False),
        sa.Column("region_code", sa.Text(collation="C"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("category", "certificate_no", name=op.f("pk_registrations")),
    )
    op.create_index(op.f("ix_registrations_region_code_status"), "registrations", ["region_code", "status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_registrations_region_code_status"), table_name="registrations")
    op.drop_table("registrations")
