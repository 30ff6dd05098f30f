"""Feed clients' profiles, one append-only row per version (kernel.migration_steps.create_feed_profiles).

Revision ID: d2c7f9a4e615
Revises: b672bb414204
Create Date: 2026-12-05 09:00:00
"""

from kernel import migration_steps

revision = "d2c7f9a4e615"
down_revision = "b672bb414204"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.create_feed_profiles()


def downgrade() -> None:
    migration_steps.drop_feed_profiles()
