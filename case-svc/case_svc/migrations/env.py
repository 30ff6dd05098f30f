"""Alembic environment of case-svc (the body is shared: kernel.migrations.run_env)."""

from case_svc.models import metadata
from kernel.migrations import run_env

run_env(metadata)
