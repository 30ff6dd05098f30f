"""The dashboard role sees no personal data (Caller.sees_personal_data): read as the dashboard, no case-svc
answer or export carries a name or an ID fragment — read as an officer, the same answers do. A name
searched for stays out of the access log."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

from case_helpers import CASES, PERSON_A, case_of, complaint, every_item, finding, officer, step, walk_to_decision
from openpyxl import load_workbook

from case_svc.cases.service import today
from devtools.testing import caller_headers
from kernel.logs import JsonFormatter, redact

NAME = "测试姓名甲"
MASKED_ID = "150102**********34"
BIRTH_DATE = "1961-03-17"


def dashboard() -> dict[str, str]:
    """A dashboard's credential (fresh: they live a minute)."""
    return caller_headers(regions=["150000"], role="dashboard", actor="dashboard-01")


def shows_the_person(text: str) -> bool:
    return any(fragment in text for fragment in (NAME, MASKED_ID, "**********", BIRTH_DATE))


async def test_the_dashboard_reads_no_name_and_no_id_fragment_anywhere(cases, bus) -> None:
    over_age = finding(PERSON_A, rule="AGE_OVER_LIMIT", name=NAME)
    over_age = over_age.model_copy(
        update={"evidence": over_age.evidence | {"birth_date": BIRTH_DATE, "limit_date": "2026-03-17"}}
    )
    await bus.publish(finding(PERSON_A, name=NAME), over_age)
    case = await case_of(cases)
    assert len(case["findings"]) == 2
    await walk_to_decision(cases, case["case_id"])
    await step(cases, case["case_id"], "decision", {"outcome": "confirmed", "reason": "认定挂证"})
    registered = (await cases.post("/api/v1/complaints", json=complaint(), headers=officer("province"))).json()
    ref = case["case_ref"]
    period = {"region_code": "150000", "from": str(today() - timedelta(days=1)), "to": str(today())}
    # The answers that name the person to an officer (the others never do).
    naming: list[tuple[str, dict]] = [
        (CASES, {}),
        (CASES, {"case_ref": ref}),
        (f"{CASES}/{case['case_id']}", {}),
        (f"{CASES}/{ref}", {}),
        *[("/api/v1/reports/detail", period | {"format": fmt}) for fmt in ("json", "csv", "xlsx")],
    ]
    gets: list[tuple[str, dict]] = [
        *naming,
        (f"{CASES}/{ref}/timeline", {}),
        (f"{CASES}/attendance-checks", {}),
        ("/api/v1/complaints", {}),
        (f"/api/v1/complaints/{registered['complaint_id']}", {}),
        (f"/api/v1/complaints/{registered['complaint_id']}/history", {}),
        ("/api/v1/campaigns", {}),
        ("/api/v1/reports/campaigns/IM-2024", {}),
        *[("/api/v1/reports/summary", period | {"format": fmt}) for fmt in ("json", "csv", "xlsx")],
        *[
            ("/api/v1/reports/campaigns/IM-2024/final-report", {"format": fmt, "region_code": "150100"})
            for fmt in ("json", "csv", "xlsx")
        ],
    ]

    def readable(response) -> str:
        if response.headers["content-type"].startswith("application/vnd.openxmlformats"):
            sheet = load_workbook(io.BytesIO(response.content)).active
            return "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value is not None)
        return response.content.decode("utf-8-sig")

    for path, params in gets:
        as_officer = await cases.get(path, params=params, headers=officer("province"))
        as_dashboard = await cases.get(path, params=params, headers=dashboard())
        assert as_officer.status_code == as_dashboard.status_code == 200, (path, as_dashboard.text)
        assert not shows_the_person(readable(as_dashboard)), (path, params)
        if (path, params) in naming:
            assert shows_the_person(readable(as_officer)), (path, params)  # the officer's answer has them
    # The case as the dashboard reads it: the person by pseudonym only, the evidence without the birth date.
    masked = (await cases.get(f"{CASES}/{ref}", headers=dashboard())).json()
    assert (masked["name"], masked["masked_id"], masked["person_ref"]) == (None, None, PERSON_A)
    evidence = {f["rule"]: f["evidence"] for f in masked["findings"]}
    assert "birth_date" not in evidence["AGE_OVER_LIMIT"] and evidence["SI_UNIT_MISMATCH"]["registered"]
    # The detail list without the two columns; nothing else missing.
    detail = (await cases.get("/api/v1/reports/detail", params=period, headers=dashboard())).json()["rows"]
    assert len(detail) == 1 and "name" not in detail[0] and "masked_id" not in detail[0]
    assert detail[0]["case_ref"] == ref and detail[0]["outcome"] == "认定挂证"
    # Nor does the dashboard look anyone up by name.
    searched = await cases.get(CASES, params={"person_name": NAME}, headers=dashboard())
    assert searched.status_code == 403 and searched.json()["detail"][0]["loc"] == ["query", "person_name"]
    assert NAME not in searched.text
    assert [c["case_ref"] for c in await every_item(cases, CASES, params={"person_name": NAME})] == [ref]


def test_a_name_searched_for_stays_out_of_the_access_log() -> None:
    # uvicorn's access log line, as every service (and the gateway) writes it: through the kernel's JSON lines.
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/cases?status=open&person_name=%E5%BC%A0%E4%B8%89&limit=5", "1.1", 200),
        None,
    )
    line = JsonFormatter("case-svc").format(record)
    assert json.loads(line)["message"] == (
        '127.0.0.1:5000 - "GET /api/v1/cases?status=open&person_name=***&limit=5 HTTP/1.1" 200'
    )
    assert "%E5%BC%A0" not in line and "张三" not in redact("GET /api/v1/cases?person_name=张三&x=1")
