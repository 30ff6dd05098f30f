"""Feed clients' profiles: how one bureau's files are read (its own headers, the rejection threshold, the ID
check-character policy, the workbook's sheet), one row per version. The versions are the audit trail (who
set each, when, what changed), so the table is append-only, enforced by the database as case-svc's
audit_log is: a trigger refuses UPDATE, DELETE and TRUNCATE, and the privileges are revoked.

Revision ID: d2c7f9a4e615
Revises: b672bb414204
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "d2c7f9a4e615"
down_revision = "b672bb414204"
branch_labels = None
depends_on = None


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.create_table(
        "feed_profiles",
        sa.Column("feed", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("columns", jsonb, nullable=False),
        sa.Column("reject_above_percent", sa.Float(), nullable=False),
        sa.Column("id_checksum", sa.Text(), nullable=False),
        sa.Column("sheet", sa.Text(), nullable=True),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_by_role", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.Column("changes", jsonb, nullable=False),
        sa.PrimaryKeyConstraint("feed", "client_id", "version", name=op.f("pk_feed_profiles")),
    )
    op.execute(
        """
        CREATE FUNCTION feed_profiles_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'feed_profiles is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER feed_profiles_no_update_delete BEFORE UPDATE OR DELETE ON feed_profiles "
        "FOR EACH ROW EXECUTE FUNCTION feed_profiles_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER feed_profiles_no_truncate BEFORE TRUNCATE ON feed_profiles "
        "FOR EACH STATEMENT EXECUTE FUNCTION feed_profiles_refuse_change()"
    )
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON feed_profiles FROM PUBLIC")
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON feed_profiles FROM CURRENT_USER")


def downgrade() -> None:
    op.drop_table("feed_profiles")
    op.execute("DROP FUNCTION feed_profiles_refuse_change()")
