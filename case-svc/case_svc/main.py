"""case-svc: what the bureaus do with findings — cases from lead to decision, complaints, sanctions, reports."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from case_svc import events
from case_svc.assignments import api as assignment_api
from case_svc.attachments import api as attachment_api
from case_svc.campaigns import api as campaign_api
from case_svc.cases import api as case_api
from case_svc.cases.service import StepRefused
from case_svc.complaints import api as complaint_api
from case_svc.consumers import consumers
from case_svc.documents import api as document_api
from case_svc.publications import api as publication_api
from case_svc.reports import api as report_api
from case_svc.settings import CaseSettings
from case_svc.supervision import api as supervision_api
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
        # Case work and 督办 first: their /cases/notices and /cases/supervised are no case ids.
        routers=[
            campaign_api.router,
            assignment_api.router,
            supervision_api.router,
            case_api.router,
            attachment_api.router,
            document_api.router,
            complaint_api.router,
            report_api.router,
            publication_api.router,
        ],
        consumers=consumers,
        replayers=events.REPLAYERS,
        description="Cases from a finding to a decision (待反馈 → 待审查 → 待复审 → 待决定 → 已决定), complaints "
        "(投诉举报), sanctions, the audit trail and the summary tables (处理情况汇总表); case work: assignment and the "
        "working lock, bulk actions, notices, 督办, attachments, printable documents with their numbers (文号) and "
        "publication lists (公示).",
    )
    app.add_exception_handler(StepRefused, case_api.audit_refusal)
    return app
