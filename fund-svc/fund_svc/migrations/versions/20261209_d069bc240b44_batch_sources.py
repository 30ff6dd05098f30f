"""Batches name the feed client that sent them and how many rows each region had: the feeds' freshness per
client and region (kernel.migration_steps.add_batch_sources).

Revision ID: d069bc240b44
Revises: 8d2ab83841aa
Create Date: 2026-12-09 09:00:00
"""

from kernel import migration_steps

revision = "d069bc240b44"
down_revision = "8d2ab83841aa"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_steps.add_batch_sources()


def downgrade() -> None:
    migration_steps.drop_batch_sources()
