"""case-svc's MetaData (with the kernel's outbox and processed-events tables); each noun adds its tables to it."""

from __future__ import annotations

from kernel.db import service_metadata

metadata = service_metadata()
