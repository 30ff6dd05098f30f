"""Every write of a registration's state gives it a new revision from a sequence — a new row by the column's
default, a changed one by a row trigger once the row is locked, so a later write of one certificate always has a
larger one — published with its events: a certificate corrected from one holder to another travels in two
partitions, and a consumer keeps the state with the larger revision. A write that changes only the row's change
set (a replay) keeps the revision: the same state again. New rows take the default rather than the trigger: no
function call per row of a bulk load.

Revision ID: 6b1f3e9d2c47
Revises: ac97199bdf2b
Create Date: 2026-12-16 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "6b1f3e9d2c47"
down_revision = "ac97199bdf2b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE registration_revisions")
    op.add_column(  # the rows held: a revision each, from the default
        "registrations",
        sa.Column(
            "revision", sa.BigInteger(), server_default=sa.text("nextval('registration_revisions')"), nullable=False
        ),
    )
    op.execute("ALTER SEQUENCE registration_revisions OWNED BY registrations.revision")
    op.execute(
        """
        CREATE FUNCTION registration_revised() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF to_jsonb(NEW) - '{change_id,updated_at,revision}'::text[]
                    = to_jsonb(OLD) - '{change_id,updated_at,revision}'::text[] THEN
                NEW.revision := OLD.revision;
            ELSE
                NEW.revision := nextval('registration_revisions');
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER registration_revised BEFORE UPDATE ON registrations "
        "FOR EACH ROW EXECUTE FUNCTION registration_revised()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER registration_revised ON registrations")
    op.execute("DROP FUNCTION registration_revised()")
    op.drop_column("registrations", "revision")  # and its sequence, which it owns
