"""registry-svc: units (企业库) and registrations (注册人员) pushed by the construction market platform."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from kernel.service import ServiceSpec, build_app
from kernel.settings import ServiceSettings
from registry_svc import api, events
from registry_svc.consumers import consumers

service = ServiceSpec(
    name="registry",
    title="registry-svc",
    factory="registry_svc.main:create_app",
    port=8101,
    migrations=Path(__file__).parent / "migrations",
    settings=ServiceSettings,
    publishes=events.PUBLISHES,
    change_streams=events.CHANGE_STREAMS,
    feeds={"units": f"{api.PREFIX}/units", "registrations": f"{api.PREFIX}/registrations"},
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_app(
        service,
        settings or service.load_settings(),
        routers=[api.router, api.internal],
        consumers=consumers,
        replayers=events.REPLAYERS,
        description="Units and registrations of registered construction professionals (注册人员).",
    )
