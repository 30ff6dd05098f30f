"""The examples of case-svc's API description (OpenAPI): one realistic case, complaint, campaign and report,
as the bureaus of Inner Mongolia would see them. The schemas name them (`json_schema_extra`); the tests
check that every input example is valid input. Synthetic people only: the name and the masked ID are
made up, as in the demo."""

from __future__ import annotations

from typing import Any

from case_svc.campaigns.presets import PRESETS

CASE_ID = "3f1c2a9e-5b7d-4c2e-9a41-6d8e0b7f1a23"
CASE_REF = "AJ-150102-2026-000004"
PERSON_REF = "7c1e9a4b2d6f8e03a5c7b9d1e2"
COMPLAINT_ID = "9b2d4f6a-8c1e-4a3b-b5d7-0e2f4a6c8e1b"
COMPLAINT_NO = "TS-150100-2026-000001"

FINDING: dict[str, Any] = {
    "finding_id": "5e8a2c4d-6f1b-4d3e-8a9c-2b4d6f8a0c1e",
    "rule": "SI_UNIT_MISMATCH",
    "status": "open",
    "exemption": None,
    "severity": "high",
    "region_code": "150102",
    "review_month": "2026-10",
    "evidence": {
        "source": "insurance",
        "registered": [
            {
                "name": "呼和浩特华建建设有限公司",
                "uscc": "91150100MA0N8XK21Q",
                "category": "constructor_2",
                "certificate_no": "蒙2152019000123",
                "registered_on": "2023-05-01",
                "region_code": "150102",
            }
        ],
        "paid": {
            "2026-09": [{"uscc": "91150200MA0P3LQ47W", "name": "包头市鑫达劳务有限公司", "kind": "enterprise"}],
            "2026-10": [{"uscc": "91150200MA0P3LQ47W", "name": "包头市鑫达劳务有限公司", "kind": "enterprise"}],
        },
    },
    "first_seen": "2026-11-03T08:12:45+08:00",
    "updated_at": "2026-11-03T08:12:45+08:00",
}

CASE_SUMMARY: dict[str, Any] = {
    "case_id": CASE_ID,
    "case_ref": CASE_REF,
    "person_ref": PERSON_REF,
    "masked_id": "150102**********3X",
    "name": "张建国",
    "region_code": "150102",
    "campaign_id": "IM-2024",
    "status": "awaiting_reply",
    "status_label": "待反馈",
    "allowed_actions": ["answer", "no-reply", "close"],
    "opened_by": "finding",
    "notice_date": "2026-11-05",
    "reply_due": "2026-11-26",
    "review_due": None,
    "due_on": "2026-11-26",
    "due_basis": None,  # below: DUE_BASIS
    "overdue": False,
    "assignee": "zhangwei",
    "assigned_at": "2026-11-04T10:02:11+08:00",
    "lock": None,  # below: WORKING_LOCK
    "supervision": None,  # below: SUPERVISION
    "outcome": None,
    "outcome_reason": None,
    "authority": None,
    "decided_on": None,
    "closed_at": None,
    "opened_at": "2026-11-03T08:12:46+08:00",
    "updated_at": "2026-11-05T09:30:02+08:00",
}

DUE_BASIS: dict[str, Any] = {
    "kind": "reply",
    "from": "2026-11-05",
    "working_days": 15,
    "due": "2026-11-26",
    "calendar": "国务院办公厅节假日安排（chinesecalendar 1.11.0，收录2004—2026年）",
    "weekends_only_years": [],
    "text": "反馈期限：自2026-11-05起15个工作日，至2026-11-26（扣除法定节假日，计入调休上班日，依国务院办公厅节假日安排"
    "（chinesecalendar 1.11.0，收录2004—2026年））",
}
WORKING_LOCK: dict[str, Any] = {"holder": "zhangwei", "expires_at": "2026-11-05T10:00:02+08:00"}
SUPERVISION: dict[str, Any] = {
    "deadline": "2026-12-31",
    "note": "群众反映强烈，请于年底前办结",
    "by": "im-admin-li",
    "at": "2026-11-06T09:00:00+08:00",
}
CASE_SUMMARY |= {"due_basis": DUE_BASIS, "lock": WORKING_LOCK, "supervision": SUPERVISION}

CASE_DETAIL: dict[str, Any] = CASE_SUMMARY | {
    "opened_reason": "finding SI_UNIT_MISMATCH",
    "answer": None,
    "reviews": [],
    "returns_to": None,
    "send_back_reason": None,
    "decision": None,
    "sanctions": None,
    "open_findings": 1,
    "findings": [FINDING],
    "complaint_ids": [COMPLAINT_ID],
}
# The example case awaits the reply: its notice is printable, the rest not yet.
CASE_DOCUMENT: dict[str, Any] = {"kind": "notice", "title": "核查通知书", "available": True, "reason": None}
CASE_DETAIL["documents"] = [
    CASE_DOCUMENT,
    {
        "kind": "intended-decision",
        "title": "行政处理事先告知书",
        "available": False,
        "reason": "the notice of the intended decision (告知书) is for a case awaiting the decision, or confirmed",
    },
    {
        "kind": "decision",
        "title": "处理决定书",
        "available": False,
        "reason": "the decision (处理决定书) exists only once the case is decided",
    },
    {
        "kind": "proof-of-service",
        "title": "送达回证",
        "available": False,
        "reason": "a proof of service (送达回证) is of a document issued first: notice, intended-decision or decision",
    },
]

ATTENDANCE_CHECK: dict[str, Any] = {
    "check_id": "c4e6a8b0-2d4f-4a6c-8e0b-1d3f5a7c9e2b",
    "campaign_id": "IM-2024",
    "region_code": "150102",
    "unit_name": "呼和浩特华建建设有限公司",
    "unit_uscc": "91150100MA0N8XK21Q",
    "confirmed_cases": 3,
    "status": "open",
    "created_at": "2026-12-10T15:20:11+08:00",
}

AUDIT_ENTRY: dict[str, Any] = {
    "audit_id": 1287,
    "entity": "case",
    "entity_id": CASE_ID,
    "action": "notice",
    "actor": "demo-xincheng-officer",
    "actor_role": "county_officer",
    "reason": "依据内建市函〔2024〕391号发出核查通知",
    "before": {"status": "open", "notice_date": None, "reply_due": None},
    "after": {"status": "awaiting_reply", "notice_date": "2026-11-05", "reply_due": "2026-11-20"},
    "at": "2026-11-05T09:30:02+08:00",
}

# --- inputs of the case routes ------------------------------------------------------------------------

OPEN_CASE: dict[str, Any] = {
    "person_ref": PERSON_REF,
    "region_code": "150102",
    "reason": "群众举报：注册单位与实际工作单位不一致",
}
SEND_NOTICE: dict[str, Any] = {
    "notice_date": "2026-11-05",
    "notice_ref": "新建函〔2026〕12号",
    "reason": "发出核查通知",
}
ANSWER: dict[str, Any] = {
    "kind": "cancelled_registration",
    "answered_on": "2026-11-15",
    "cancelled_on": "2026-11-12",
    "evidence_refs": ["注销申请受理回执-20261112"],
    "reason": "本人书面反馈已办理注销",
}
REASON: dict[str, Any] = {"reason": "反馈期限届满，当事人未提交书面说明"}
REVIEW: dict[str, Any] = {
    "opinion": "经比对社保缴费记录，注册单位与缴费单位不一致属实",
    "proposed_outcome": "confirmed",
}
SEND_BACK: dict[str, Any] = {"reason": "缺少社保缴费证明原件，请补充后重新审查"}
DECISION: dict[str, Any] = {
    "outcome": "confirmed",
    "reason": "认定存在“挂证”行为，依法撤销其注册许可",
    "decided_on": "2026-12-10",
    "fine": "10000",
    "blacklist": True,
    "public_notice": True,
}
CLOSE: dict[str, Any] = {"reason": "处罚决定书已送达，案件办结"}

# --- complaints -----------------------------------------------------------------------------------

COMPLAINT_IN: dict[str, Any] = {
    "channel": "phone",
    "received_on": "2026-11-02",
    "region_code": "150100",
    "subject_person_ref": PERSON_REF,
    "subject_unit_name": "呼和浩特华建建设有限公司",
    "content": "举报该公司项目经理长期不在岗，注册证书疑似挂靠",
}
COMPLAINT: dict[str, Any] = {
    "complaint_id": COMPLAINT_ID,
    "registration_no": COMPLAINT_NO,
    "campaign_id": "IM-2024",
    "channel": "phone",
    "received_on": "2026-11-02",
    "region_code": "150100",
    "subject_person_ref": PERSON_REF,
    "subject_unit_name": "呼和浩特华建建设有限公司",
    "subject_unit_uscc": None,
    "content": "举报该公司项目经理长期不在岗，注册证书疑似挂靠",
    "status": "assigned",
    "assignee": "demo-hohhot-officer",
    "due_on": "2026-11-17",
    "overdue": False,
    "answer": None,
    "answered_on": None,
    "answered_by": None,
    "case_ids": [CASE_ID],
    "created_at": "2026-11-02T10:05:33+08:00",
    "updated_at": "2026-11-03T14:40:12+08:00",
}
ASSIGN: dict[str, Any] = {"assignee": "demo-hohhot-officer", "due_on": "2026-11-17", "reason": "转市局市场科办理"}
ANSWER_COMPLAINT: dict[str, Any] = {"answer": "经核查，举报属实，已立案调查并责令整改", "answered_on": "2026-11-16"}
LINK_CASE: dict[str, Any] = {"case_id": CASE_REF, "reason": "举报事项与已立案件为同一人"}

# --- campaigns --------------------------------------------------------------------------------------

CAMPAIGN: dict[str, Any] = PRESETS["IM-2024"] | {
    "created_at": "2026-12-02T07:41:00+08:00",
    "updated_at": "2026-12-02T07:41:00+08:00",
}
PRESET_INSTANCE: dict[str, Any] = {"campaign_id": "HLJ-2026", "starts_in": "2026-01"}

CAMPAIGN_REPORT: dict[str, Any] = {
    "report_id": "monthly-2019-02",
    "kind": "monthly",
    "what": "上月查处情况处理汇总表",
    "title": "黑龙江省2019年2月工程建设领域专业技术人员职业资格“挂证”等违法违规情况处理汇总表",
    "period": {"from": "2019-02-01", "to": "2019-02-28"},
    "due_on": "2019-03-02",
    "to": "省住建厅",
    "path": "/api/v1/reports/campaigns/HLJ-2018/monthly-2019-02",
}

# --- reports ------------------------------------------------------------------------------------------

_COUNTS: dict[str, int] = {
    "people_checked": 1342,
    "rule_SI_UNIT_MISMATCH": 57,
    "rule_SI_MULTIPLE_UNITS": 4,
    "rule_SI_NONE": 21,
    "rule_FUND_UNIT_MISMATCH": 33,
    "rule_FUND_MULTIPLE_UNITS": 2,
    "rule_MULTI_REGISTRATION": 3,
    "rule_PUBLIC_SECTOR_SI": 6,
    "rule_HR_AGENCY_SI": 5,
    "rule_AGE_OVER_LIMIT": 2,
    "cases_opened": 81,
    "not_guazheng": 19,
    "self_corrected": 12,
    "confirmed": 27,
    "revoked": 22,
    "reported_to_ministry": 6,
    "units_notified": 15,
    "blacklisted": 25,
    "public_servants_referred": 4,
    "hr_agencies_referred": 3,
    "complaints_received": 9,
    "complaints_answered": 7,
}
SUMMARY_TABLE: dict[str, Any] = {
    "frozen_at": None,
    "title": "内蒙古自治区呼和浩特市工程建设领域专业技术人员“挂证”等违法违规行为处理情况汇总表"
    "（2024-08-01 至 2025-02-17）",
    "region_code": "150100",
    "region_name": "内蒙古自治区呼和浩特市",
    "period": {"from": "2024-08-01", "to": "2025-02-17"},
    "rows": [{"region_code": "150102", "region_name": "新城区"} | _COUNTS],
    "totals": {"region_code": "合计", "region_name": ""} | _COUNTS,
}
MONTHLY_TABLE: dict[str, Any] = SUMMARY_TABLE | {
    "title": "黑龙江省哈尔滨市2019年2月工程建设领域专业技术人员职业资格“挂证”等违法违规情况处理汇总表",
    "region_code": "230100",
    "region_name": "黑龙江省哈尔滨市",
    "period": {"from": "2019-02-01", "to": "2019-02-28"},
    "rows": [{"region_code": "230102", "region_name": "道里区"} | _COUNTS],
    "campaign_id": "HLJ-2018",
    "month": "2019-02",
    "due_on": "2019-03-02",
    "frozen_at": "2019-03-01T00:05:12+08:00",
}
DETAIL_TABLE: dict[str, Any] = {
    "title": "内蒙古自治区呼和浩特市新城区处理情况明细表（2026-11-01 至 2026-12-31）",
    "region_code": "150102",
    "region_name": "内蒙古自治区呼和浩特市新城区",
    "period": {"from": "2026-11-01", "to": "2026-12-31"},
    "rows": [
        {
            "case_ref": CASE_REF,
            "region_code": "150102",
            "region_name": "新城区",
            "name": "张建国",
            "masked_id": "150102**********3X",
            "rules": "社保单位与注册单位不一致",
            "status": "已决定",
            "outcome": "认定挂证",
            "revoked": "蒙2152019000123",
            "barred_until": "2029-12-10",
            "reported_to_ministry": "",
            "fine": "10000",
            "units": "呼和浩特华建建设有限公司",
            "decided_on": "2026-12-10",
            "opened_on": "2026-11-03",
        }
    ],
}
CSV_EXAMPLE = (
    "\ufeff内蒙古自治区呼和浩特市工程建设领域专业技术人员“挂证”等违法违规行为处理情况汇总表（2024-08-01 至 2025-02-17）\r\n"
    "地区代码,地区,核查人数,…,办结投诉举报\r\n150102,新城区,1342,…,7\r\n合计,,1342,…,7\r\n"
)
XLSX_EXAMPLE = "(an .xlsx workbook: the title row naming the region and period, the period, the Chinese headers, a row per region, 合计 in bold)"

# --- case work: assignment, the working lock, bulk actions, notices, supervision -----------------------

ASSIGN_CASE: dict[str, Any] = {"assignee": "zhangwei", "reason": "由张伟负责核查"}
ROUND_ROBIN: dict[str, Any] = {
    "region_code": "150102",
    "assignees": ["zhangwei", "liuyang"],
    "filter": {"status": "open"},
    "reason": "新城区待通知案件轮流分配",
}
ROUND_ROBIN_RESULT: dict[str, Any] = {
    "assignments": [
        {"case_id": CASE_ID, "case_ref": CASE_REF, "assignee": "zhangwei"},
        {"case_id": "8d2f4b6a-1c3e-4f5a-9b7d-2e4f6a8c0b1d", "case_ref": "AJ-150102-2026-000005", "assignee": "liuyang"},
    ],
    "skipped": [{"case": "AJ-150102-2026-000001", "reason": "already assigned to zhangwei"}],
    "load": [{"assignee": "zhangwei", "undecided_cases": 7}, {"assignee": "liuyang", "undecided_cases": 7}],
}
CASE_LOCK: dict[str, Any] = {
    "case_id": CASE_ID,
    "case_ref": CASE_REF,
    "holder": "zhangwei",
    "expires_at": "2026-11-05T10:00:02+08:00",
}
BULK: dict[str, Any] = {
    "action": "remind",
    "case_ids": [CASE_REF, "AJ-150102-2026-000005"],
    "message": "请于本周内完成核查反馈",
}
BULK_RESULT: dict[str, Any] = {
    "action": "remind",
    "done": 1,
    "refused": 1,
    "results": [
        {"case": CASE_REF, "case_id": CASE_ID, "case_ref": CASE_REF, "outcome": "done", "reason": None,
         "status": "awaiting_reply"},
        {"case": "AJ-150102-2026-000005", "case_id": "8d2f4b6a-1c3e-4f5a-9b7d-2e4f6a8c0b1d",
         "case_ref": "AJ-150102-2026-000005", "outcome": "refused",
         "reason": "case AJ-150102-2026-000005 is closed: nothing is left to remind of", "status": "closed"},
    ],
}  # fmt: skip
NOTICES: dict[str, Any] = {
    "as_of": "2026-11-24",
    "within": 3,
    "counts": {"due_soon": 1, "overdue": 0, "supervised": 1, "reminded": 0},
    "notices": [
        {"kind": "due_soon", "case_id": CASE_ID, "case_ref": CASE_REF, "region_code": "150102", "status": "awaiting_reply",
         "status_label": "待反馈", "due_on": "2026-11-26", "overdue": False, "message": "反馈即将到期（期限2026-11-26）",
         "at": None},
        {"kind": "supervised", "case_id": CASE_ID, "case_ref": CASE_REF, "region_code": "150102",
         "status": "awaiting_reply", "status_label": "待反馈", "due_on": "2026-12-31", "overdue": False,
         "message": "省级挂牌督办，督办期限2026-12-31：群众反映强烈，请于年底前办结", "at": None},
    ],
}  # fmt: skip
SUPERVISE: dict[str, Any] = {"deadline": "2026-12-31", "note": "群众反映强烈，请于年底前办结"}
SUPERVISED_CASE: dict[str, Any] = {
    "case_id": CASE_ID,
    "case_ref": CASE_REF,
    "person_ref": PERSON_REF,
    "region_code": "150102",
    "region_name": "新城区",
    "name": "张建国",
    "masked_id": "150102**********3X",
    "status": "awaiting_county_review",
    "status_label": "待审查",
    "assignee": "zhangwei",
    "due_on": "2026-12-10",
    "supervision": SUPERVISION,
    "done": False,
    "overdue": False,
    "working_days_left": 26,
}

# --- attachments, documents, publications ---------------------------------------------------------------

ATTACHMENT_UPLOAD: dict[str, Any] = {"kind": "约谈笔录", "note": "2026年11月10日约谈当事人", "file": "(约谈笔录.pdf)"}
ATTACHMENT: dict[str, Any] = {
    "attachment_id": "2b4d6f8a-0c1e-4a3b-8d5f-7a9c1e3b5d7f",
    "case_id": CASE_ID,
    "number": 1,
    "kind": "约谈笔录",
    "note": "2026年11月10日约谈当事人",
    "filename": "约谈笔录-张建国.pdf",
    "content_type": "application/pdf",
    "size": 182734,
    "sha256": "9f2c7a41e5b8d3f60a1c4e7b2d9f8a6c3e5b1d7f0a2c4e6b8d0f2a4c6e8b0d2f",
    "uploaded_by": "zhangwei",
    "uploaded_by_role": "county_officer",
    "uploaded_at": "2026-11-10T16:20:05+08:00",
}
DOCUMENT_NUMBER: dict[str, Any] = {
    "document": "decision",
    "title": "处理决定书",
    "number": "内建稽〔2026〕12号",
    "authority_code": "150000",
    "issued_on": "2026-12-10",
    "issued_by": "im-admin-li",
    "issued_at": "2026-12-10T15:02:44+08:00",
}
PUBLICATION_IN: dict[str, Any] = {"region_code": "150000", "from": "2026-12-01", "to": "2026-12-31"}
PUBLICATION: dict[str, Any] = {
    "publication_id": "6a8c0e2b-4d6f-4a1c-9e3b-5d7f9a1c3e5b",
    "region_code": "150000",
    "period_from": "2026-12-01",
    "period_to": "2026-12-31",
    "title": "内蒙古自治区工程建设领域专业技术人员“挂证”违法违规行为处理结果公示（2026-12-01 至 2026-12-31）",
    "status": "approved",
    "rows": [
        {
            "case_ref": CASE_REF,
            "person_ref": PERSON_REF,
            "name": "张建国",
            "masked_id": "150102**********3X",
            "categories": "二级注册建造师（蒙2152019000123）",
            "unit_name": "呼和浩特华建建设有限公司",
            "unit_uscc": "91150100MA0N8XK21Q",
            "record": "注册执业人员“挂证”违法违规行为；撤销二级注册建造师注册，2029-12-10前不得再次申请注册；列入建筑市场主体“黑名单”",
            "decision_number": "内建稽〔2026〕12号",
            "decided_on": "2026-12-10",
            "authority": "内蒙古自治区住房和城乡建设厅",
        }
    ],
    "created_by": "im-admin-li",
    "created_at": "2027-01-04T09:12:00+08:00",
    "approved_by": "im-admin-wang",
    "approved_at": "2027-01-05T10:40:00+08:00",
}
PUBLICATION_CSV = (
    "\ufeff内蒙古自治区工程建设领域专业技术人员“挂证”违法违规行为处理结果公示（2026-12-01 至 2026-12-31）\r\n"
    "案件编号,姓名,身份证号码,…,处理机关\r\nAJ-150102-2026-000004,张建国,150102**********3X,…,内蒙古自治区住房和城乡建设厅\r\n"
)
