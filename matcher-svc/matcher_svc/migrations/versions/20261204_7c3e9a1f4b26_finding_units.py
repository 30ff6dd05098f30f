"""Findings name the units they are about at the top level (`registered_units`, `paying_units`), with what
the `unit_name` and `unit_uscc` filters match (`unit_names_norm`, `unit_usccs`), and an index for the
`person_name` filter. Existing findings get them from their evidence, as evaluation now writes them
(matcher_svc.findings.units_of), in the same order (code points), without being changed or published again.

Revision ID: 7c3e9a1f4b26
Revises: 5d1e0a7c2b91
Create Date: 2026-12-04 00:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from domain.identifiers import normalize_unit_name

revision = "7c3e9a1f4b26"
down_revision = "5d1e0a7c2b91"
branch_labels = None
depends_on = None

# Distinct {name, uscc} objects, ordered by USCC then name in code-point order (as units_of sorts them).
_UNITS = (
    "coalesce((SELECT jsonb_agg(u ORDER BY coalesce(u->>'uscc', '') COLLATE \"C\", u->>'name' COLLATE \"C\") "
    "FROM (SELECT DISTINCT jsonb_build_object('name', e->>'name', 'uscc', {uscc}) AS u FROM {elements} e "
    "{where}) units), '[]'::jsonb)"
)
_REGISTERED = _UNITS.format(
    uscc="nullif(coalesce(e->>'resolved_uscc', e->>'uscc'), '')",
    elements="jsonb_array_elements(CASE jsonb_typeof(f.evidence->'registered') WHEN 'array' "
    "THEN f.evidence->'registered' ELSE '[]'::jsonb END)",
    where="",
)
_PAYING = _UNITS.format(
    uscc="nullif(e->>'uscc', '')",
    elements="(SELECT m.value AS value FROM jsonb_each(CASE jsonb_typeof(f.evidence->'paid') WHEN 'object' "
    "THEN f.evidence->'paid' ELSE '{}'::jsonb END) m) months, jsonb_array_elements(months.value)",
    where="WHERE NOT coalesce((e->>'same')::boolean, false)",
)


def upgrade() -> None:
    op.add_column(
        "findings",
        sa.Column("registered_units", postgresql.JSONB(), nullable=False, server_default="[]"),
    )
    op.add_column("findings", sa.Column("paying_units", postgresql.JSONB(), nullable=False, server_default="[]"))
    op.add_column(
        "findings", sa.Column("unit_names_norm", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}")
    )
    op.add_column("findings", sa.Column("unit_usccs", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"))

    op.execute(f"UPDATE findings f SET registered_units = {_REGISTERED}, paying_units = {_PAYING}")
    op.execute(
        "UPDATE findings f SET unit_usccs = ARRAY(SELECT DISTINCT u->>'uscc' COLLATE \"C\" "
        "FROM jsonb_array_elements(f.registered_units || f.paying_units) u WHERE u->>'uscc' IS NOT NULL ORDER BY 1)"
    )
    # Names are normalised as the suite does it (domain.identifiers): once per distinct name, in Python.
    bind = op.get_bind()
    names = bind.execute(
        sa.text(
            "SELECT DISTINCT u->>'name' FROM findings f, jsonb_array_elements(f.registered_units || f.paying_units) u"
        )
    ).scalars()
    norms = [{"name": name, "norm": normalize_unit_name(name)} for name in names if name]
    op.execute("CREATE TEMPORARY TABLE unit_name_norms (name text PRIMARY KEY, norm text NOT NULL)")
    if norms:
        bind.execute(sa.text("INSERT INTO unit_name_norms (name, norm) VALUES (:name, :norm)"), norms)
    op.execute(
        'UPDATE findings f SET unit_names_norm = ARRAY(SELECT DISTINCT m.norm COLLATE "C" '
        "FROM jsonb_array_elements(f.registered_units || f.paying_units) u "
        "JOIN unit_name_norms m ON m.name = u->>'name' WHERE m.norm <> '' ORDER BY 1)"
    )
    op.execute("DROP TABLE unit_name_norms")

    op.create_index(
        op.f("ix_findings_unit_names_norm"), "findings", ["unit_names_norm"], unique=False, postgresql_using="gin"
    )
    op.create_index(op.f("ix_findings_unit_usccs"), "findings", ["unit_usccs"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_findings_name"), "findings", ["name"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_findings_name"), table_name="findings")
    op.drop_index(op.f("ix_findings_unit_usccs"), table_name="findings")
    op.drop_index(op.f("ix_findings_unit_names_norm"), table_name="findings")
    op.drop_column("findings", "unit_usccs")
    op.drop_column("findings", "unit_names_norm")
    op.drop_column("findings", "paying_units")
    op.drop_column("findings", "registered_units")
