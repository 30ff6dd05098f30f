"""insurance-svc's HTTP routes: the two feeds, receipts and retraction, a person's evidence, replay."""

from __future__ import annotations

from fastapi import APIRouter

from ingest.routes import feed_router, person_records_router, replay_router
from insurance_svc.records import FEEDS, RECORDS

PREFIX = "/api/v1/insurance"
router = APIRouter(prefix=PREFIX, tags=["insurance"])
router.include_router(feed_router(FEEDS))
router.include_router(person_records_router(RECORDS))
router.include_router(replay_router({records.name: records.replay for records in RECORDS}))
