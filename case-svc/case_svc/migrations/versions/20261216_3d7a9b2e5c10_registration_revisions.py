"""case-svc's register keeps each registration's revision, as the matcher's projection does (its migration
8e2d5c1a7f34 says why): a state older than the one held is not taken. Rows held so far keep 0.

Revision ID: 3d7a9b2e5c10
Revises: 7ccf067c278f
Create Date: 2026-12-16 09:00:00
"""

from kernel import migration_steps

revision = "3d7a9b2e5c10"
down_revision = "7ccf067c278f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_registration_revision()


def downgrade() -> None:
    migration_steps.drop_registration_revision()
