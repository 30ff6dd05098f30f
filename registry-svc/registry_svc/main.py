"""registry-svc: units (企业库) and registrations (注册人员) pushed by the construction market platform, and the
check requests (核查) issued from them to the 社保 and 公积金 centres."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from kernel.service import ServiceSpec, build_app
from registry_svc import api, events
from registry_svc.consumers import consumers
from registry_svc.settings import RegistrySettings

service = ServiceSpec(
    name="registry",
    title="registry-svc",
    factory="registry_svc.main:create_app",
    port=8101,
    migrations=Path(__file__).parent / "migrations",
    settings=RegistrySettings,
    publishes=events.PUBLISHES,
    change_streams=events.CHANGE_STREAMS,
    feeds={"units": f"{api.PREFIX}/units", "registrations": f"{api.PREFIX}/registrations"},
)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return build_app(
        service,
        settings or service.load_settings(),
        routers=[api.router, api.internal],
        consumers=consumers,
        replayers=events.REPLAYERS,
        description="Units and registrations of registered construction professionals (注册人员).",
    )
