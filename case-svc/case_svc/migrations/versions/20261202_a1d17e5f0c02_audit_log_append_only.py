"""The audit trail is append-only, enforced by the database: a trigger refuses UPDATE, DELETE and
TRUNCATE of audit_log for every role (a superuser included), and the privileges are revoked from
PUBLIC and from the role that owns the table (the application's role).

Revision ID: a1d17e5f0c02
Revises: c0619f4b18c0
Create Date: 2026-12-02 07:40:00
"""

from kernel import migration_steps

revision = "a1d17e5f0c02"
down_revision = "c0619f4b18c0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.refuse_changes("audit_log")


def downgrade() -> None:
    migration_steps.allow_changes("audit_log")
