"""What fund-svc keeps: housing-fund deposits (公积金缴存)."""

from __future__ import annotations

from domain.records import RecordKind
from ingest.payments import payment_fields, payment_records
from kernel.events import DepositsRecordedV1

DEPOSITS = payment_records("deposits", DepositsRecordedV1, insurance_type=False)

FEEDS = (DEPOSITS.feed(RecordKind.deposits, payment_fields(insurance_type=False)),)
RECORDS = (DEPOSITS,)
