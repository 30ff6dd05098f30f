"""insurance-svc's tables: people, their contributions and statuses, and which people each change touched."""

from __future__ import annotations

from sqlalchemy import Column, Date, Text

from ingest.payments import payment_columns
from ingest.person_records import person_changes_table
from ingest.persons import persons_table
from insurance_svc.records import CONTRIBUTIONS, PERSON_STATUSES
from kernel.db import service_metadata

metadata = service_metadata()
persons = persons_table(metadata)
person_changes = person_changes_table(metadata)
contributions = CONTRIBUTIONS.table(metadata, *payment_columns(insurance_type=True))
person_statuses = PERSON_STATUSES.table(metadata, Column("status", Text, nullable=False), Column("since", Date))
