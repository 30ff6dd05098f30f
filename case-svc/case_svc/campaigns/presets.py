"""The two provincial campaigns the product ships ready (DOMAIN §2), as data in the product's own words.

- Inner Mongolia 2024 (内建市函〔2024〕391号): 自查自纠 2024-08…10, 排查处理 2024-11…2025-02, summary
  table and report by 2025-02-17; 住建, 人社 (社保中心), 公积金中心.
- Heilongjiang 2018–19 (建办市〔2018〕57号, provincial plan): 自查自纠 late 2018-12…2019-01 end (report by
  2019-02-15), 全面排查 2019-02…06 (summary by 2019-07-05), 指导监督 2019-02…09; monthly table by the
  2nd of each month from 2019-03; 住建, 人社, 交通运输, 水利; HR agencies (人力资源服务机构) in scope.

"Late December" has no day in the plan; 2018-12-21 is our reading (下旬 starts on the 21st).

Each reporting deadline is a summary table of the phases it covers (`phases`, all when empty): IM's final
table counts the whole campaign up to its due day; HLJ's 自查自纠 report the self-correction, its 全面排查
summary the investigation. HLJ's monthly tables (from each city bureau, 市级住建部门, to the province) are
titled after the plan's attachment (`table_title`).
"""

from __future__ import annotations

from typing import Any

# The summary table's title in Inner Mongolia's attachment (附件), the default of any campaign's.
SUMMARY_TITLE = "工程建设领域专业技术人员“挂证”等违法违规行为处理情况汇总表"

PRESETS: dict[str, dict[str, Any]] = {
    "IM-2024": {
        "campaign_id": "IM-2024",
        "region_code": "150000",
        "name": "工程建设领域专业技术人员违规“挂证”行为专项治理（内蒙古自治区，2024）",
        "document": "内建市函〔2024〕391号",
        "document_date": "2024-08-29",
        "national_basis": "建办市函〔2024〕283号",
        "agencies": ["住房和城乡建设", "人力资源和社会保障（社会保险事业服务中心）", "住房公积金管理中心"],
        "phases": [
            {"code": "self_correction", "name": "自查自纠", "starts_on": "2024-08-01", "ends_on": "2024-10-31"},
            {"code": "investigation", "name": "排查处理", "starts_on": "2024-11-01", "ends_on": "2025-02-28"},
        ],
        "review_month": "2024-10",
        "reporting_deadlines": [
            {
                "code": "final-report",
                "what": "处理情况汇总表及工作报告",
                "due_on": "2025-02-17",
                "to": "自治区住房和城乡建设厅（抄送人社厅）",
                "phases": [],
            },
        ],
        "monthly_report": None,
        "table_title": SUMMARY_TITLE,
        "reply_days": 15,
        "attendance_check_threshold": 3,
        "revoking_authority": "内蒙古自治区住房和城乡建设厅",
        "regions_addressed": [
            "150100",
            "150200",
            "150300",
            "150400",
            "150500",
            "150600",
            "150700",
            "150800",
            "150900",
            "152200",
            "152500",
            "152900",
            "150781",
            "152501",
        ],
    },
    "HLJ-2018": {
        "campaign_id": "HLJ-2018",
        "region_code": "230000",
        "name": "工程建设领域专业技术人员职业资格“挂证”等违法违规行为专项整治（黑龙江省，2018—2019）",
        "document": "黑龙江省专项整治方案（附件1）",
        "document_date": "2018-12-01",
        "national_basis": "建办市〔2018〕57号",
        "agencies": ["住房和城乡建设", "人力资源和社会保障", "交通运输", "水利"],
        "phases": [
            {"code": "self_correction", "name": "自查自纠", "starts_on": "2018-12-21", "ends_on": "2019-01-31"},
            {"code": "investigation", "name": "全面排查", "starts_on": "2019-02-01", "ends_on": "2019-06-30"},
            {"code": "supervision", "name": "指导监督", "starts_on": "2019-02-01", "ends_on": "2019-09-30"},
        ],
        "review_month": "2019-01",
        "reporting_deadlines": [
            {
                "code": "self-correction-report",
                "what": "自查自纠情况报告",
                "due_on": "2019-02-15",
                "to": "省住建厅（抄送人社厅、交通运输厅、水利厅）",
                "phases": ["self_correction"],
            },
            {
                "code": "investigation-summary",
                "what": "全面排查工作总结",
                "due_on": "2019-07-05",
                "to": "省住建厅（抄送人社厅、交通运输厅、水利厅）",
                "phases": ["investigation"],
            },
        ],
        "monthly_report": {"from_month": "2019-03", "due_day": 2, "what": "上月查处情况处理汇总表", "to": "省住建厅"},
        "table_title": "工程建设领域专业技术人员职业资格“挂证”等违法违规情况处理汇总表",
        "reply_days": 15,
        "attendance_check_threshold": 3,
        "revoking_authority": "黑龙江省住房和城乡建设厅",
        "regions_addressed": [],
    },
}
