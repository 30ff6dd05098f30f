"""fund-svc's tables: people, their deposits, and which people each change touched."""

from __future__ import annotations

from fund_svc.records import DEPOSITS
from ingest.payments import payment_columns
from ingest.person_records import person_changes_table
from ingest.persons import persons_table
from kernel.db import service_metadata

metadata = service_metadata()
persons = persons_table(metadata)
person_changes = person_changes_table(metadata)
deposits = DEPOSITS.table(metadata, *payment_columns(insurance_type=False))
