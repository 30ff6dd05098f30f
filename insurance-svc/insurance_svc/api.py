"""insurance-svc's HTTP routes: the two feeds, receipts and retraction (answering check requests), a person's evidence, replay."""

from __future__ import annotations

from fastapi import APIRouter

from ingest.api import data_router
from ingest.check_requests import Centre, admission_of, answers_router
from insurance_svc import events
from insurance_svc.records import FEEDS, RECORDS

PREFIX = "/api/v1/insurance"
router = APIRouter(prefix=PREFIX, tags=["insurance"])
router.include_router(data_router(FEEDS, events.REPLAYERS, RECORDS, admission_of(Centre.insurance)))

# The centre's answers to the check requests registry-svc issued to it (internal: a service credential).
internal = answers_router()
