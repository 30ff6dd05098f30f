"""The register keeps each registration's revision (RegistrationRecordedV1.revision) and takes a state only when its
revision is not older than the one held: a certificate corrected from one holder to another travels in two
partitions, and the older state, consumed last, no longer stays. Rows held so far keep 0, as events published before
the registry's revisions say.

Revision ID: 3d7a9b2e5c10
Revises: 7ccf067c278f
Create Date: 2026-12-16 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "3d7a9b2e5c10"
down_revision = "7ccf067c278f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("registrations", sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("registrations", "revision")
