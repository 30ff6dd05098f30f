"""fund-svc's tables: people, their deposits, which people each change touched, and
which check requests the uploads answered."""

from __future__ import annotations

from fund_svc.records import DEPOSITS
from ingest.check_requests import check_answers_table
from ingest.payments import payment_columns
from ingest.person_records import person_changes_table
from ingest.persons import persons_table
from ingest.profiles import feed_profiles_table
from kernel.db import service_metadata

metadata = service_metadata()
persons = persons_table(metadata)
feed_profiles = feed_profiles_table(metadata)  # how each feed client's files are read
person_changes = person_changes_table(metadata)
check_answers = check_answers_table(metadata)
deposits = DEPOSITS.table(metadata, *payment_columns(insurance_type=False))
