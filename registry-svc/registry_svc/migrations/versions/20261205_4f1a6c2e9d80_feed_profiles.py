"""Feed clients' profiles, one append-only row per version (kernel.migration_steps.create_feed_profiles).

Revision ID: 4f1a6c2e9d80
Revises: 767983b00a9f
Create Date: 2026-12-05 09:00:00
"""

from kernel import migration_steps

revision = "4f1a6c2e9d80"
down_revision = "767983b00a9f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_feed_profiles()


def downgrade() -> None:
    migration_steps.drop_feed_profiles()
