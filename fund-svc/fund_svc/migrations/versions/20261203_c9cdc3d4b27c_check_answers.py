"""Which person an upload answered on which check request (registry-svc's requests to the centres)

Revision ID: c9cdc3d4b27c
Revises: 7f63c9e2a4d7
Create Date: 2026-12-03 01:10:26.157421
"""

from kernel import migration_steps

revision = "c9cdc3d4b27c"
down_revision = "7f63c9e2a4d7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_check_answers()


def downgrade() -> None:
    migration_steps.drop_check_answers()
