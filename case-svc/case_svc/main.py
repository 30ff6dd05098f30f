"""case-svc: what the bureaus do with findings — cases from lead to decision, complaints, sanctions, reports."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from case_svc import events
from case_svc.campaigns import api as campaign_api
from case_svc.cases import api as case_api
from case_svc.cases.service import StepRefused
from case_svc.complaints import api as complaint_api
from case_svc.consumers import consumers
from case_svc.reports import api as report_api
from case_svc.settings import CaseSettings
from kernel.events import Topics
from kernel.service import ServiceSpec, build_app

service = ServiceSpec[CaseSettings](
    name="case",
    title="case-svc",
    factory="case_svc.main:create_app",
    port=8105,
    migrations=Path(__file__).parent / "migrations",
    publishes=events.PUBLISHES,
    consumes=(Topics.matcher_findings, Topics.registry_registrations),
    settings=CaseSettings,
)


def create_app(settings: CaseSettings | None = None) -> FastAPI:
    app = build_app(
        service,
        settings or service.load_settings(),
        routers=[campaign_api.router, case_api.router, complaint_api.router, report_api.router],
        consumers=consumers,
        replayers=events.REPLAYERS,
        description="Cases from a finding to a decision (待反馈 → 待审查 → 待复审 → 待决定 → 已决定), complaints "
        "(投诉举报), sanctions, the audit trail and the summary tables (处理情况汇总表).",
    )
    app.add_exception_handler(StepRefused, case_api.audit_refusal)
    return app
