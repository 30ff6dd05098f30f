"""fund-svc's HTTP routes: the deposits feed, receipts and retraction (answering check requests), a person's evidence, replay."""

from __future__ import annotations

from fastapi import APIRouter

from fund_svc import events
from fund_svc.records import FEEDS, RECORDS
from ingest.api import data_router
from ingest.check_requests import Centre, admission_of, answers_router

PREFIX = "/api/v1/fund"
router = APIRouter(prefix=PREFIX, tags=["fund"])
router.include_router(data_router(FEEDS, events.REPLAYERS, RECORDS, admission_of(Centre.fund)))

# The centre's answers to the check requests registry-svc issued to it (internal: a service credential).
internal = answers_router()
