"""matcher-svc: the cross-check of registrations against who really pays insurance and housing fund."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from kernel.service import ServiceSpec, build_app
from matcher_svc import api, events, projection
from matcher_svc.consumers import consumers
from matcher_svc.evaluation_worker import EvaluationWorker
from matcher_svc.policy import MatcherSettings

service = ServiceSpec(
    name="matcher",
    title="matcher-svc",
    factory="matcher_svc.main:create_app",
    port=8104,
    migrations=Path(__file__).parent / "migrations",
    publishes=events.PUBLISHES,
    consumes=projection.TOPICS_CONSUMED,
    change_streams=events.CHANGE_STREAMS,
    settings=MatcherSettings,
)


def create_app(settings: MatcherSettings | None = None) -> FastAPI:
    return build_app(
        service,
        settings or service.load_settings(),
        routers=[api.router],
        consumers=consumers,
        workers=lambda runtime: [EvaluationWorker(runtime)],
        replayers=events.REPLAYERS,
        description="Findings of the rule catalog (挂证 leads) with their evidence and exemptions.",
    )
