"""case-svc's API description as integrators read it: an example for every request body and success response,
examples that are valid, and one name for each action of a case — its route, `allowed_actions`, the
audit trail and the README."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from case_svc.assignments.schemas import (
    Assign,
    Bulk,
    BulkResult,
    CaseLock,
    Notices,
    RoundRobin,
    RoundRobinResult,
)
from case_svc.attachments.schemas import Attachment
from case_svc.audit.schemas import AuditEntry
from case_svc.campaigns.schemas import Campaign, CampaignIn, CampaignReport, PresetInstance
from case_svc.cases.schemas import (
    Answer,
    AttendanceCheck,
    CaseDetail,
    CaseDocument,
    CaseFinding,
    CaseSummary,
    Close,
    Decision,
    DueBasis,
    OpenCase,
    Reason,
    Review,
    SendBack,
    SendNotice,
    Supervision,
    WorkingLock,
)
from case_svc.cases.workflow import ACTION_LABELS, TRANSITIONS, Action, allowed_actions
from case_svc.complaints.schemas import AnswerComplaint, Complaint, ComplaintIn, LinkCase
from case_svc.complaints.schemas import Assign as AssignComplaint
from case_svc.documents.schemas import DocumentNumber
from case_svc.main import create_app
from case_svc.publications.schemas import Publication, PublicationIn
from case_svc.settings import CaseSettings
from case_svc.supervision.schemas import Supervise, SupervisedCase
from kernel.openapi import missing_examples, shape_violations

MODELS: list[type[BaseModel]] = [
    OpenCase,
    SendNotice,
    Answer,
    Reason,
    Review,
    SendBack,
    Decision,
    Close,
    ComplaintIn,
    AssignComplaint,
    AnswerComplaint,
    LinkCase,
    CampaignIn,
    PresetInstance,
    CaseSummary,
    CaseDetail,
    CaseDocument,
    CaseFinding,
    AttendanceCheck,
    AuditEntry,
    Complaint,
    Campaign,
    CampaignReport,
    Assign,
    RoundRobin,
    RoundRobinResult,
    CaseLock,
    Bulk,
    BulkResult,
    Notices,
    Supervise,
    SupervisedCase,
    Supervision,
    WorkingLock,
    DueBasis,
    Attachment,
    DocumentNumber,
    PublicationIn,
    Publication,
]
# Examples of ids, times and numbers only.
NOT_CHINESE = (
    Reason,
    PresetInstance,
    AttendanceCheck,
    CampaignReport,
    RoundRobinResult,
    BulkResult,
    CaseLock,
    WorkingLock,
    PublicationIn,
)
README = Path(__file__).parents[1] / "README.md"
CASE_WORK = {"assign", "take", "supervision", "attachments", "documents/{kind}"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return create_app(CaseSettings(database_url="postgresql://case@127.0.0.1/none")).openapi()


def test_every_operation_has_an_example_for_its_body_and_its_success_response(doc: dict[str, Any]) -> None:
    operations = [(path, method) for path, ops in doc["paths"].items() for method in ops]
    assert len(operations) >= 30  # the routes of cases, complaints, campaigns and reports
    assert missing_examples(doc) == []
    assert shape_violations(doc) == []
    # The table routes describe each format they answer in.
    for path in ("/api/v1/reports/summary", "/api/v1/reports/campaigns/{campaign_id}/{report_id}"):
        content = doc["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(content) == {
            "application/json",
            "text/csv",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_example_is_what_the_api_takes_or_gives(model: type[BaseModel]) -> None:
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    assert isinstance(examples, list) and examples, model
    for example in examples:
        model.model_validate(example)  # raises if the example is not valid
        text = repr(example)
        if model not in NOT_CHINESE:
            assert re.search(r"[\u4e00-\u9fff]", text), f"{model.__name__}: the domain speaks Chinese"


def test_each_action_has_one_name_its_routes(doc: dict[str, Any]) -> None:
    routes = {
        path.removeprefix("/api/v1/cases/{case_id}/")
        for path, ops in doc["paths"].items()
        if path.startswith("/api/v1/cases/{case_id}/") and "post" in ops
    }
    # Besides the workflow's steps, a case takes work that moves no state (assignment, the lock, 督办, evidence,
    # its documents issued).
    assert routes - CASE_WORK == {action.value for action in Action}
    assert routes >= CASE_WORK
    assert set(ACTION_LABELS) == set(Action)
    for status in TRANSITIONS:
        assert set(allowed_actions(status)) <= routes
    # The README names them so too, and none by an older name.
    text = README.read_text(encoding="utf-8")
    for old in ("send_notice", "record_no_reply", "county_review", "city_review", "send_back", "decide"):
        # (awaiting_county_review is a state; "does not decide" is English)
        assert not re.search(rf"(?<![\w-])`?{old}`?(?=[`,;)\]]|\s*\||$)", text, re.MULTILINE), old
    for action in Action:
        assert f"`{action.value}`" in text, action
