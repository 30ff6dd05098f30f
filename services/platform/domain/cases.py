"""A case's vocabulary (DOMAIN §7) with its labels, the one place for each: its states, its actions (named as
their routes are), the levels of bureaus it passes through, and the outcomes of a decision. case-svc's
workflow (case_svc.cases.workflow) is the state machine over these; the gateway's labels endpoint
(`GET /api/v1/labels`) hands the labels to dashboards."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    open = "open"  # opened from a finding, a complaint or by an officer
    awaiting_reply = "awaiting_reply"
    awaiting_county_review = "awaiting_county_review"
    awaiting_city_review = "awaiting_city_review"
    awaiting_decision = "awaiting_decision"
    sent_back = "sent_back"
    decided = "decided"
    closed = "closed"


STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.open: "待通知",
    CaseStatus.awaiting_reply: "待反馈",
    CaseStatus.awaiting_county_review: "待审查",
    CaseStatus.awaiting_city_review: "待复审",
    CaseStatus.awaiting_decision: "待决定",
    CaseStatus.sent_back: "已驳回",
    CaseStatus.decided: "已决定",
    CaseStatus.closed: "已结案",
}

STATUS_LABELS_EN: dict[CaseStatus, str] = {
    CaseStatus.open: "To be notified",
    CaseStatus.awaiting_reply: "Awaiting reply",
    CaseStatus.awaiting_county_review: "Awaiting county review",
    CaseStatus.awaiting_city_review: "Awaiting city review",
    CaseStatus.awaiting_decision: "Awaiting decision",
    CaseStatus.sent_back: "Sent back",
    CaseStatus.decided: "Decided",
    CaseStatus.closed: "Closed",
}


class Action(StrEnum):
    """A case's actions, named as their routes are (POST /api/v1/cases/{case_id}/<action>): one name in
    the API, `allowed_actions`, the audit trail and the documents."""

    notice = "notice"
    answer = "answer"
    no_reply = "no-reply"
    county_review = "county-review"
    city_review = "city-review"
    send_back = "send-back"
    resume = "resume"
    decision = "decision"
    close = "close"


ACTION_LABELS: dict[Action, str] = {
    Action.notice: "发出通知",
    Action.answer: "记录反馈",
    Action.no_reply: "记录逾期未反馈",
    Action.county_review: "审查",
    Action.city_review: "复审",
    Action.send_back: "驳回",
    Action.resume: "恢复办理",
    Action.decision: "作出决定",
    Action.close: "结案",
}

ACTION_LABELS_EN: dict[Action, str] = {
    Action.notice: "Send the notice",
    Action.answer: "Record the reply",
    Action.no_reply: "Record no reply in time",
    Action.county_review: "County review",
    Action.city_review: "City review",
    Action.send_back: "Send back",
    Action.resume: "Resume",
    Action.decision: "Decide",
    Action.close: "Close",
}


class Level(StrEnum):
    """The bureaus a case passes through, lowest first."""

    county = "county"  # 旗县区住建局
    city = "city"  # 盟市住建局
    province = "province"  # 省（自治区）住建厅: the deciding authority


LEVEL_LABELS: dict[Level, str] = {Level.county: "县级", Level.city: "市级", Level.province: "省级"}
LEVEL_LABELS_EN: dict[Level, str] = {Level.county: "County", Level.city: "City", Level.province: "Province"}


class Outcome(StrEnum):
    not_guazheng = "not_guazheng"  # 不是挂证: exemption granted, data error, or already consistent
    self_corrected = "self_corrected"  # 自查自纠期间整改: liability waived
    confirmed = "confirmed"  # 认定挂证


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.not_guazheng: "不认定挂证",
    Outcome.self_corrected: "自查自纠整改",
    Outcome.confirmed: "认定挂证",
}
OUTCOME_LABELS_EN: dict[Outcome, str] = {
    Outcome.not_guazheng: "Not certificate hanging",
    Outcome.self_corrected: "Self-corrected",
    Outcome.confirmed: "Certificate hanging confirmed",
}
