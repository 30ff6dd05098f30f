"""case-svc: what the bureaus do with findings — cases from lead to decision, complaints, sanctions, reports."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from case_svc.campaigns import views as campaign_views
from case_svc.cases import views as case_views
from case_svc.complaints import views as complaint_views
from case_svc.consumers import consumers
from case_svc.reports import views as report_views
from case_svc.settings import CaseSettings
from kernel.events import Topics
from kernel.service import ServiceSpec, build_app

service = ServiceSpec(
    name="case",
    title="case-svc",
    factory="case_svc.main:create_app",
    port=8105,
    migrations=Path(__file__).parent / "migrations",
    publishes=(Topics.cases_decisions,),
    consumes=(Topics.matcher_findings, Topics.registry_registrations),
    settings=CaseSettings,
)


def create_app(settings: CaseSettings | None = None) -> FastAPI:
    return build_app(
        service,
        settings or service.load_settings(),
        routers=[campaign_views.router, case_views.router, complaint_views.router, report_views.router],
        consumers=consumers,
        description="Cases from a finding to a decision (待反馈 → 待审查 → 待复审 → 待决定 → 已决定), complaints "
        "(投诉举报), sanctions, the audit trail and the summary tables (处理情况汇总表).",
    )
