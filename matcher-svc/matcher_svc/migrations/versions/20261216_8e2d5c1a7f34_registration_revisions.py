"""The projection keeps each registration's revision (RegistrationRecordedV1.revision) and takes a state only when
its revision is not older than the one held: a certificate corrected from one holder to another travels in two
partitions, and the older state, consumed last, no longer stays. Rows held so far keep 0, as events published before
the registry's revisions say.

Revision ID: 8e2d5c1a7f34
Revises: 4a8c2e7f5b19
Create Date: 2026-12-16 09:00:00
"""

from kernel import migration_steps

revision = "8e2d5c1a7f34"
down_revision = "4a8c2e7f5b19"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_registration_revision()


def downgrade() -> None:
    migration_steps.drop_registration_revision()
