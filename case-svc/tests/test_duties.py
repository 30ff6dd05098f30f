"""Who may act, tried as an attacker would: every step of a case with every role (only the level that owns
it succeeds, every refusal audited and the case unchanged), one officer taking two reviews, a case above
the counties, the suite's own services, forged actor and region headers, and writes under another
region's scope.

People are synthetic pseudonyms; officers are made-up ids.
"""

from __future__ import annotations

from datetime import timedelta

from case_helpers import (
    CASES,
    PERSON_A,
    PERSON_B,
    case_of,
    complaint,
    every_item,
    finding,
    officer,
    registration,
    step,
    timeline,
)

from case_svc.cases.service import today
from devtools.testing import caller_headers, eventually

# The action each route takes, as refusals name it.
ACTIONS = {
    "notice": "notice",
    "answer": "answer",
    "no-reply": "no-reply",
    "county-review": "county-review",
    "city-review": "city-review",
    "send-back": "send-back",
    "resume": "resume",
    "decision": "decision",
    "close": "close",
}
ROLES = {"county": "county_officer", "city": "city_officer", "province": "province_admin"}
ACTORS = {
    "county": "officer-xincheng-01",
    "city": "officer-hohhot-01",
    "province": "officer-im-admin-01",
    "dashboard": "dashboard-01",
    "registry_feed": "registry-feed",
    "service": "tests",
}
ANSWER = {"kind": "insurance_now_matches", "evidence_refs": ["社保缴费证明"]}


def everyone(region_code: str = "150102") -> dict[str, dict[str, str]]:
    """A caller of every kind whose regions cover the case: the three officers, a dashboard and a feed of
    the province, and a service credential (the client's own, sent when no header names another)."""
    return {
        "county": officer("county", region_code),
        "city": officer("city", region_code),
        "province": officer("province", region_code),
        "dashboard": caller_headers(regions=["150000"], role="dashboard", actor=ACTORS["dashboard"]),
        "registry_feed": caller_headers(regions=["150000"], role="registry_feed", actor=ACTORS["registry_feed"]),
        "service": {},
    }


async def only_by(client, case_id: str, path: str, body: dict, owner: str, refusals: list[tuple[str, str]]) -> dict:
    """Every caller but an officer of `owner` is refused the step (403 naming it and the owning level, the
    case unchanged); then the owner takes it. Each refusal is added to `refusals` as (actor, action)."""
    before = (await client.get(f"{CASES}/{case_id}")).json()
    for name, headers in everyone().items():
        if name == owner:
            continue
        refused = await client.post(f"{CASES}/{case_id}/{path}", json=body, headers=headers)
        assert refused.status_code == 403, (path, name, refused.text)
        [detail] = refused.json()["detail"]
        assert detail["type"] == "forbidden"
        assert ACTIONS[path] in detail["msg"] and f"{owner}-level" in detail["msg"] and ROLES[owner] in detail["msg"]
        refusals.append((name, ACTIONS[path]))
    assert (await client.get(f"{CASES}/{case_id}")).json() == before  # refused: nothing changed
    return await step(client, case_id, path, body, by=owner)


async def test_every_step_is_taken_only_by_the_level_that_owns_it(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    refusals: list[tuple[str, str]] = []
    await only_by(cases, case_id, "notice", {}, "county", refusals)
    await only_by(cases, case_id, "answer", ANSWER, "county", refusals)
    # Each review sends back only by its own reviewer; the case resumes with whoever redoes the work.
    await only_by(cases, case_id, "send-back", {"reason": "材料不全"}, "county", refusals)
    await only_by(cases, case_id, "resume", {}, "county", refusals)
    await step(cases, case_id, "answer", ANSWER)
    await only_by(cases, case_id, "county-review", {"opinion": "属实"}, "county", refusals)
    await only_by(cases, case_id, "send-back", {"reason": "复审不同意"}, "city", refusals)
    await only_by(cases, case_id, "resume", {}, "county", refusals)
    await step(cases, case_id, "county-review", {"opinion": "补充后属实"})
    await only_by(cases, case_id, "city-review", {"opinion": "同意"}, "city", refusals)
    await only_by(cases, case_id, "send-back", {"reason": "事实不清"}, "province", refusals)
    await only_by(cases, case_id, "resume", {}, "city", refusals)
    await step(cases, case_id, "city-review", {"opinion": "补充后同意"})
    decided = await only_by(
        cases, case_id, "decision", {"outcome": "confirmed", "reason": "认定挂证"}, "province", refusals
    )
    assert decided["status"] == "decided"
    closed = await only_by(cases, case_id, "close", {"reason": "决定已送达"}, "province", refusals)
    assert closed["status"] == "closed"
    # Every refusal is on the case's audit trail: who tried which step, and why not.
    refused = [e for e in await timeline(cases, case_id) if e["action"] == "refused"]
    assert [(e["actor"], e["after"]["action"]) for e in refused] == [
        (ACTORS[name], action) for name, action in refusals
    ]
    assert len(refused) == 12 * 5
    assert {e["actor_role"] for e in refused} == {*ROLES.values(), "dashboard", "registry_feed", "service"}
    assert all(e["reason"].startswith(e["after"]["action"]) for e in refused)


async def test_no_reply_and_an_early_close_belong_to_their_levels_too(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    refusals: list[tuple[str, str]] = []
    # Noticed long enough ago for the reply's deadline (15 working days) to have passed.
    await step(cases, case_id, "notice", {"notice_date": str(today() - timedelta(days=40))})
    await only_by(cases, case_id, "no-reply", {"reason": "逾期未反馈"}, "county", refusals)
    await bus.publish(finding(PERSON_A, status="cleared"))

    async def resolved() -> bool:
        return "all_findings_resolved" in [e["action"] for e in await timeline(cases, case_id)]

    await eventually(resolved, what="the case's findings to clear")
    # Closing early records an outcome: the deciding authority's, not the county's that handled it.
    closed = await only_by(cases, case_id, "close", {"reason": "已一致"}, "province", refusals)
    assert closed["outcome"] == "not_guazheng" and len(refusals) == 10


async def test_the_officer_of_one_review_takes_neither_the_next_nor_the_decision(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    await step(cases, case_id, "notice", {})
    await step(cases, case_id, "answer", ANSWER)
    # One person holding credentials of two levels (or a misconfigured client) is still one reviewer.
    both = "officer-0471-031"
    reviewed = await cases.post(
        f"{CASES}/{case_id}/county-review", json={"opinion": "属实"}, headers=officer("county", actor=both)
    )
    assert reviewed.status_code == 200
    again = await cases.post(
        f"{CASES}/{case_id}/city-review", json={"opinion": "同意"}, headers=officer("city", actor=both)
    )
    assert again.status_code == 403
    assert "city-review" in again.json()["detail"][0]["msg"] and "county review" in again.json()["detail"][0]["msg"]
    await step(cases, case_id, "city-review", {"opinion": "同意"})  # another city officer
    decision = {"outcome": "confirmed", "reason": "认定挂证"}
    for reviewer in (both, "officer-hohhot-01"):  # the county's reviewer, then the city's
        refused = await cases.post(
            f"{CASES}/{case_id}/decision", json=decision, headers=officer("province", actor=reviewer)
        )
        assert refused.status_code == 403 and "decision" in refused.json()["detail"][0]["msg"]
    assert (await cases.get(f"{CASES}/{case_id}")).json()["status"] == "awaiting_decision"
    decided = await step(cases, case_id, "decision", decision)
    assert decided["decision"]["decided_by"] == "officer-im-admin-01"
    refused = [
        (e["actor"], e["actor_role"], e["after"]) for e in await timeline(cases, case_id) if e["action"] == "refused"
    ]
    assert refused == [
        (both, "city_officer", {"action": "city-review", "status": "awaiting_city_review"}),
        (both, "province_admin", {"action": "decision", "status": "awaiting_decision"}),
        ("officer-hohhot-01", "province_admin", {"action": "decision", "status": "awaiting_decision"}),
    ]


async def test_a_city_case_is_handled_by_the_city_with_another_officer_for_each_review(cases, bus) -> None:
    # A case of the city itself (opened by its officer) has no county below it: the city takes the county's
    # steps, and the second review still needs a second officer.
    await bus.publish(registration(PERSON_B, "150100", "蒙2150000077"))
    opened: list[dict] = []

    async def open_it() -> bool:
        body = {"person_ref": PERSON_B, "region_code": "150100", "reason": "举报线索"}
        response = await cases.post(CASES, json=body, headers=officer("city", "150100"))
        assert response.status_code in (201, 422), response.text  # 422 until the register holds the person
        if response.status_code == 201:
            opened.append(response.json())
        return bool(opened)

    await eventually(open_it, what="the person on the register, and the case opened")
    case_id = opened[0]["case_id"]
    # A county officer's role, even with the city's regions, does not take a city case's steps.
    county_role = caller_headers(regions=["150100"], role="county_officer", actor="officer-xincheng-02")
    refused = await cases.post(f"{CASES}/{case_id}/notice", json={}, headers=county_role)
    assert refused.status_code == 403 and "city-level" in refused.json()["detail"][0]["msg"]
    for path, body in (("notice", {}), ("answer", ANSWER), ("county-review", {"opinion": "属实"})):
        await step(cases, case_id, path, body, by="city", region_code="150100")
    same = await cases.post(
        f"{CASES}/{case_id}/city-review", json={"opinion": "同意"}, headers=officer("city", "150100")
    )
    assert same.status_code == 403
    second = officer("city", "150100", actor="officer-hohhot-02")
    assert (
        await cases.post(f"{CASES}/{case_id}/city-review", json={"opinion": "同意"}, headers=second)
    ).status_code == 200


async def test_the_actor_is_the_verified_caller_whatever_a_header_says(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    forged = {**officer("county"), "X-Actor": "officer-im-admin-01", "X-Actor-Role": "province_admin"}
    assert (await cases.post(f"{CASES}/{case_id}/notice", json={}, headers=forged)).status_code == 200
    noticed = (await timeline(cases, case_id))[-1]
    assert (noticed["action"], noticed["actor"], noticed["actor_role"]) == (
        "notice",
        "officer-xincheng-01",
        "county_officer",
    )
    # A forged role does not lift a county officer to the province's step either.
    await step(cases, case_id, "answer", ANSWER)
    await step(cases, case_id, "county-review", {"opinion": "属实"})
    await step(cases, case_id, "city-review", {"opinion": "同意"})
    decision = {"outcome": "confirmed", "reason": "认定挂证"}
    assert (await cases.post(f"{CASES}/{case_id}/decision", json=decision, headers=forged)).status_code == 403
    # Without a credential nothing is answered, whatever the headers claim.
    bare = {"X-Actor": "officer-im-admin-01", "X-Actor-Role": "province_admin", "Authorization": ""}
    assert (await cases.post(f"{CASES}/{case_id}/decision", json=decision, headers=bare)).status_code == 401
    registered = await cases.post("/api/v1/complaints", json=complaint(region_code="150102"), headers=forged)
    history = await every_item(cases, f"/api/v1/complaints/{registered.json()['complaint_id']}/history")
    assert [(h["actor"], h["actor_role"]) for h in history] == [("officer-xincheng-01", "county_officer")]


async def test_the_suites_services_open_no_case_and_handle_no_complaint(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    await case_of(cases)
    # The client's own credential is a service credential: every region, no officer's role.
    opened = await cases.post(CASES, json={"person_ref": PERSON_B, "region_code": "150102", "reason": "线索"})
    assert opened.status_code == 403 and "officer" in opened.json()["detail"][0]["msg"]
    about_a_unit = complaint(region_code="150102")
    assert (await cases.post("/api/v1/complaints", json=about_a_unit)).status_code == 403
    dashboard = caller_headers(regions=["150000"], role="dashboard", actor="dashboard-01")
    assert (await cases.post("/api/v1/complaints", json=about_a_unit, headers=dashboard)).status_code == 403
    registered = (await cases.post("/api/v1/complaints", json=about_a_unit, headers=officer("county"))).json()
    path = f"/api/v1/complaints/{registered['complaint_id']}"
    for action, body in (("assign", {"assignee": "officer-0471-009"}), ("answer", {"answer": "已处理"}), ("cases", {})):
        assert (await cases.post(f"{path}/{action}", json=body)).status_code == 403, action
    assert [h["action"] for h in await every_item(cases, f"{path}/history")] == ["register"]


async def test_writes_under_another_regions_scope_are_refused(cases, bus) -> None:
    await bus.publish(finding(PERSON_A), registration(PERSON_B, "150102", "蒙2150000088"))
    case = await case_of(cases)
    case_id = case["case_id"]
    hohhot_complaint = complaint(region_code="150102", subject_person_ref=PERSON_B)
    registered = (await cases.post("/api/v1/complaints", json=hohhot_complaint, headers=officer("county"))).json()
    # Baotou's officers, of every level below the province, on Hohhot's case and complaint.
    for headers in (
        caller_headers(regions=["150200"], role="city_officer", actor="officer-baotou-01"),
        caller_headers(regions=["150203"], role="county_officer", actor="officer-kundulun-01"),
    ):
        for path, body in (
            ("notice", {}),
            ("answer", ANSWER),
            ("no-reply", {}),
            ("county-review", {"opinion": "属实"}),
            ("city-review", {"opinion": "同意"}),
            ("send-back", {"reason": "不同意"}),
            ("resume", {}),
            ("decision", {"outcome": "confirmed", "reason": "认定"}),
            ("close", {"reason": "结案"}),
        ):
            response = await cases.post(f"{CASES}/{case_id}/{path}", json=body, headers=headers)
            assert response.status_code == 404, (path, response.text)  # as if it did not exist
        # A region they name themselves: refused, saying it is outside their regions.
        opened = await cases.post(
            CASES, json={"person_ref": PERSON_A, "region_code": "150102", "reason": "线索"}, headers=headers
        )
        elsewhere = await cases.post("/api/v1/complaints", json=hohhot_complaint, headers=headers)
        for refused in (opened, elsewhere):
            assert refused.status_code == 403, refused.text
            detail = refused.json()["detail"][0]
            assert detail["loc"] == ["body", "region_code"] and "outside your regions" in detail["msg"]
        path = f"/api/v1/complaints/{registered['complaint_id']}"
        for action, body in (
            ("assign", {"assignee": "officer-baotou-01"}),
            ("answer", {"answer": "已处理"}),
            ("cases", {}),
            ("cases", {"case_id": case_id}),
            ("cases", {"case_id": case["case_ref"]}),
        ):
            response = await cases.post(f"{path}/{action}", json=body, headers=headers)
            assert response.status_code == 404, (action, response.text)
        # Named by their printed numbers, the case and the complaint are as absent.
        for path in (
            f"{CASES}/{case['case_ref']}/notice",
            f"/api/v1/complaints/{registered['registration_no']}/assign",
        ):
            response = await cases.post(path, json={"assignee": "x"} if "complaints" in path else {}, headers=headers)
            assert response.status_code == 404 and response.json()["detail"][0]["msg"].startswith("no "), path
    # Their own complaint cannot be linked to Hohhot's case either.
    baotou = caller_headers(regions=["150200"], role="city_officer", actor="officer-baotou-01")
    own = await cases.post("/api/v1/complaints", json=hohhot_complaint | {"region_code": "150203"}, headers=baotou)
    linked = await cases.post(
        f"/api/v1/complaints/{own.json()['complaint_id']}/cases", json={"case_id": case_id}, headers=baotou
    )
    assert linked.status_code == 404 and linked.json()["detail"][0]["loc"] == ["body", "case_id"]
    # Nothing changed: the case is as it was opened, the complaint as registered, no case for the person.
    assert [e["action"] for e in await timeline(cases, case_id)] == ["open"]
    assert (await cases.get(f"/api/v1/complaints/{registered['complaint_id']}")).json() == registered
    assert (await cases.get(CASES, params={"person_ref": PERSON_B})).json()["items"] == []
