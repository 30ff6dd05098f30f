"""Alembic environment of the gateway (the body is shared: kernel.migrations.run_env)."""

from gateway_svc.models import metadata
from kernel.migrations import run_env

run_env(metadata)
