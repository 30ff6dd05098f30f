"""fund-svc's HTTP routes: the deposits feed, receipts and retraction, a person's evidence, replay."""

from __future__ import annotations

from fastapi import APIRouter

from fund_svc import events
from fund_svc.records import FEEDS, RECORDS
from ingest.api import data_router

PREFIX = "/api/v1/fund"
router = APIRouter(prefix=PREFIX, tags=["fund"])
router.include_router(data_router(FEEDS, events.REPLAYERS, RECORDS))
