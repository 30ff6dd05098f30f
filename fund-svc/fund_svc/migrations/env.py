"""Alembic environment of fund-svc (the body is shared: kernel.migrations.run_env)."""

from fund_svc.models import metadata
from kernel.migrations import run_env

run_env(metadata)
