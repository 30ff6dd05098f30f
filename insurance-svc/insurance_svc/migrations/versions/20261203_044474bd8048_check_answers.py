"""Which person an upload answered on which check request (registry-svc's requests to the centres)

Revision ID: 044474bd8048
Revises: 5e52b8d1f3c6
Create Date: 2026-12-03 01:10:18.004791
"""

from kernel import migration_steps

revision = "044474bd8048"
down_revision = "5e52b8d1f3c6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_check_answers()


def downgrade() -> None:
    migration_steps.drop_check_answers()
