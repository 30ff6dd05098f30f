"""Alembic environment of registry-svc (the body is shared: kernel.migrations.run_env)."""

from kernel.migrations import run_env
from registry_svc.models import metadata

run_env(metadata)
