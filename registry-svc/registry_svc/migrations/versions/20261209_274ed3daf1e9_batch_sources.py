"""Batches name the feed client that sent them and how many rows each region had: the feeds' freshness per
client and region (kernel.migration_steps.add_batch_sources).

Revision ID: 274ed3daf1e9
Revises: e4933721092b
Create Date: 2026-12-09 09:00:00
"""

from kernel import migration_steps

revision = "274ed3daf1e9"
down_revision = "e4933721092b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_batch_sources()


def downgrade() -> None:
    migration_steps.drop_batch_sources()
