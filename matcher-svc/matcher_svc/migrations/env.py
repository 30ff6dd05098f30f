"""Alembic environment of matcher-svc (the body is shared: kernel.migrations.run_env)."""

from kernel.migrations import run_env
from matcher_svc.models import metadata

run_env(metadata)
