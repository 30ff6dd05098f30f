"""Implausible input is refused with a 422 naming the field (and never echoing the value): a case for a person
the suite does not know, dates before the plausible range's start or beyond the end of next month, months
likewise."""

from __future__ import annotations

from datetime import timedelta

from case_helpers import CASES, PERSON_A, case_of, complaint, finding, officer, step

from case_svc.cases.service import today

TOO_EARLY = "1999-12-31"  # before PLAUSIBLE_SINCE (2000-01-01 by default)
TOO_LATE = str(today() + timedelta(days=92))  # past the end of next month, whatever today is
UNKNOWN = "e" * 26  # no finding, not on the register


def unprocessable(response) -> dict:
    assert response.status_code == 422, response.text
    return response.json()


def refused(answer: dict, loc: list[str], value: str) -> None:
    """One error, at `loc`, that does not repeat the value sent."""
    [detail] = answer["detail"]
    assert detail["loc"] == loc and value not in detail["msg"]


async def test_a_case_only_for_a_person_the_suite_knows(cases, bus) -> None:
    opened = await cases.post(
        CASES, json={"person_ref": UNKNOWN, "region_code": "150102", "reason": "线索"}, headers=officer("county")
    )
    refused(unprocessable(opened), ["body", "person_ref"], UNKNOWN)
    assert "person_ref" in opened.json()["detail"][0]["msg"]
    about_unknown = complaint(region_code="150102", subject_person_ref=UNKNOWN)
    registered = (await cases.post("/api/v1/complaints", json=about_unknown, headers=officer("county"))).json()
    linked = await cases.post(
        f"/api/v1/complaints/{registered['complaint_id']}/cases", json={}, headers=officer("county")
    )
    refused(unprocessable(linked), ["body", "case_id"], UNKNOWN)
    assert "subject_person_ref" in linked.json()["detail"][0]["msg"]
    assert (await cases.get(CASES, params={"person_ref": UNKNOWN})).json()["items"] == []


async def test_dates_officers_send_lie_in_the_plausible_range(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    for day in (TOO_EARLY, TOO_LATE):
        refused(await step(cases, case_id, "notice", {"notice_date": day}, expect=422), ["body", "notice_date"], day)
    await step(cases, case_id, "notice", {})
    for field in ("answered_on", "cancelled_on"):
        for day in (TOO_EARLY, TOO_LATE):
            body = {"kind": "cancelled_registration", "cancelled_on": str(today()), "evidence_refs": ["注销证明"]}
            response = await step(cases, case_id, "answer", body | {field: day}, expect=422)
            refused(response, ["body", field], day)
    await step(cases, case_id, "answer", {"kind": "insurance_now_matches", "evidence_refs": ["证明"]})
    await step(cases, case_id, "county-review", {"opinion": "属实"})
    await step(cases, case_id, "city-review", {"opinion": "同意"})
    for day in (TOO_EARLY, TOO_LATE):
        decision = {"outcome": "confirmed", "reason": "认定挂证", "decided_on": day}
        refused(await step(cases, case_id, "decision", decision, expect=422), ["body", "decided_on"], day)
    assert (await cases.get(f"{CASES}/{case_id}")).json()["status"] == "awaiting_decision"
    # Complaints: the day received, the day answered.
    about_a_unit = complaint(region_code="150102")
    for day in (TOO_EARLY, TOO_LATE):
        response = await cases.post(
            "/api/v1/complaints", json=about_a_unit | {"received_on": day}, headers=officer("county")
        )
        refused(unprocessable(response), ["body", "received_on"], day)
    registered = await cases.post(
        "/api/v1/complaints", json=about_a_unit | {"received_on": str(today())}, headers=officer("county")
    )
    path = f"/api/v1/complaints/{registered.json()['complaint_id']}/answer"
    for day in (TOO_EARLY, TOO_LATE):
        response = await cases.post(path, json={"answer": "已处理", "answered_on": day}, headers=officer("county"))
        refused(unprocessable(response), ["body", "answered_on"], day)


async def test_months_lie_in_the_plausible_range(cases) -> None:
    late_month = TOO_LATE[:7]
    for month in ("1999-12", late_month):
        response = await cases.get("/api/v1/reports/monthly", params={"campaign_id": "HLJ-2018", "month": month})
        refused(unprocessable(response), ["query", "month"], month)
    campaign = {**(await cases.get("/api/v1/campaigns/IM-2024")).json(), "campaign_id": "IM-2027"}
    for server_owned in ("created_at", "updated_at"):
        campaign.pop(server_owned)
    for month in ("1900-01", late_month):
        response = await cases.post("/api/v1/campaigns", json=campaign | {"review_month": month})
        refused(unprocessable(response), ["body", "review_month"], month)
    assert (await cases.post("/api/v1/campaigns", json=campaign)).status_code == 201
