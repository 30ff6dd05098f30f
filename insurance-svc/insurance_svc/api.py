"""insurance-svc's HTTP routes: the two feeds, receipts and retraction, a person's evidence, replay."""

from __future__ import annotations

from fastapi import APIRouter

from ingest.api import data_router
from insurance_svc import events
from insurance_svc.records import FEEDS, RECORDS

PREFIX = "/api/v1/insurance"
router = APIRouter(prefix=PREFIX, tags=["insurance"])
router.include_router(data_router(FEEDS, events.REPLAYERS, RECORDS))
