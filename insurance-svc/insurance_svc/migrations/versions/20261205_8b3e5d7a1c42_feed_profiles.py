"""Feed clients' profiles, one append-only row per version (kernel.migration_steps.create_feed_profiles).

Revision ID: 8b3e5d7a1c42
Revises: 27a0b3de2dd7
Create Date: 2026-12-05 09:00:00
"""

from kernel import migration_steps

revision = "8b3e5d7a1c42"
down_revision = "27a0b3de2dd7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_feed_profiles()


def downgrade() -> None:
    migration_steps.drop_feed_profiles()
