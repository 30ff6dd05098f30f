"""Batches name the feed client that sent them and how many rows each region had: the feeds' freshness per
client and region (kernel.migration_steps.add_batch_sources).

Revision ID: b241ab6c43a7
Revises: c243066c9659
Create Date: 2026-12-09 09:00:00
"""

from kernel import migration_steps

revision = "b241ab6c43a7"
down_revision = "c243066c9659"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_batch_sources()


def downgrade() -> None:
    migration_steps.drop_batch_sources()
