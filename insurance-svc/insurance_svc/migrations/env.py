"""Alembic environment of insurance-svc (the body is shared: kernel.migrations.run_env)."""

from insurance_svc.models import metadata
from kernel.migrations import run_env

run_env(metadata)
