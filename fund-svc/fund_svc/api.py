"""fund-svc's HTTP routes: the deposits feed, receipts and retraction, a person's evidence, replay."""

from __future__ import annotations

from fastapi import APIRouter

from fund_svc.records import FEEDS, RECORDS
from ingest.routes import feed_router, person_records_router, replay_router

PREFIX = "/api/v1/fund"
router = APIRouter(prefix=PREFIX, tags=["fund"])
router.include_router(feed_router(FEEDS))
router.include_router(person_records_router(RECORDS))
router.include_router(replay_router({records.name: records.replay for records in RECORDS}))
