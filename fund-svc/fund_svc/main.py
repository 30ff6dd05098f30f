"""fund-svc: housing-fund deposits pushed by the 公积金 centre."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from fund_svc import api, events
from kernel.service import ServiceSpec, build_app
from kernel.settings import ServiceSettings

service = ServiceSpec(
    name="fund",
    title="fund-svc",
    factory="fund_svc.main:create_app",
    port=8103,
    migrations=Path(__file__).parent / "migrations",
    settings=ServiceSettings,
    publishes=events.PUBLISHES,
    change_streams=events.CHANGE_STREAMS,
    feeds={"deposits": f"{api.PREFIX}/deposits"},
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_app(
        service,
        settings or service.load_settings(),
        routers=[api.router, api.internal],
        replayers=events.REPLAYERS,
        description="Housing-fund deposits (公积金缴存).",
    )
