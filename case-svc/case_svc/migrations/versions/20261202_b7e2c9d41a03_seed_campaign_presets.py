"""The two shipped campaigns (Inner Mongolia 2024, Heilongjiang 2018–19) are present after migration.

Inserted only when absent: a campaign an administrator changed later is left as it is, and
`POST /api/v1/campaigns/presets/{campaign_id}` restores a preset on purpose.

Revision ID: b7e2c9d41a03
Revises: a1d17e5f0c02
Create Date: 2026-12-02 07:41:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "b7e2c9d41a03"
down_revision = "a1d17e5f0c02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from case_svc.campaigns.presets import PRESETS

    for preset in PRESETS.values():
        op.get_bind().execute(
            sa.text(
                "INSERT INTO campaigns (campaign_id, province_code, name, config) "
                "VALUES (:id, :province, :name, CAST(:config AS jsonb)) ON CONFLICT (campaign_id) DO NOTHING"
            ),
            {
                "id": preset["campaign_id"],
                "province": preset["region_code"],
                "name": preset["name"],
                "config": json.dumps(preset, ensure_ascii=False),
            },
        )


def downgrade() -> None:
    op.execute("DELETE FROM campaigns WHERE campaign_id IN ('IM-2024', 'HLJ-2018')")
