"""insurance-svc: social-insurance contributions and person status pushed by the 社保 centre."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from insurance_svc import api, events
from kernel.service import ServiceSpec, build_app
from kernel.settings import ServiceSettings

service = ServiceSpec(
    name="insurance",
    title="insurance-svc",
    factory="insurance_svc.main:create_app",
    port=8102,
    migrations=Path(__file__).parent / "migrations",
    settings=ServiceSettings,
    publishes=events.PUBLISHES,
    change_streams=events.CHANGE_STREAMS,
    feeds={"contributions": f"{api.PREFIX}/contributions", "person_statuses": f"{api.PREFIX}/person_statuses"},
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_app(
        service,
        settings or service.load_settings(),
        routers=[api.router, api.internal],
        replayers=events.REPLAYERS,
        description="Social-insurance contributions (社保缴费) and person status (退休, 买断社保).",
    )
