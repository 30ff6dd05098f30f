"""case-svc end to end on the real broker and database: findings on the bus open cases, officers walk
them through the workflow, decisions are published through the outbox, and the audit trail holds.

People are synthetic pseudonyms; nothing printed carries a name or an ID.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from case_helpers import (
    PERSON_A,
    PERSON_B,
    case_of,
    cases_of,
    every_item,
    finding,
    officer,
    step,
    timeline,
    walk_to_decision,
)

from case_svc.cases.deadlines import add_working_days
from case_svc.cases.service import today
from devtools.testing import TopicTail, caller_headers, event_of, eventually, wait_outbox_empty
from kernel.events import CaseClosedV1, ExemptionDecidedV1, RegistrationRevokedV1
from kernel.paging import encode_cursor

API = "/api/v1/cases"


async def actions(client, case_id: str) -> list[str]:
    """The actions on the case's timeline, in order."""
    return [entry["action"] for entry in await timeline(client, case_id)]


async def test_findings_open_one_case_per_person_and_join_it(cases, bus) -> None:
    await bus.publish(finding(PERSON_A), finding(PERSON_B))
    case = await case_of(cases, PERSON_A)
    assert case["status"] == "open" and case["campaign_id"] == "IM-2024" and case["region_code"] == "150102"
    assert case["case_ref"].startswith("AJ-150102-") and case["allowed_actions"] == ["notice", "close"]
    await bus.publish(finding(PERSON_A, rule="FUND_UNIT_MISMATCH"))

    async def findings() -> list[dict]:
        return (await cases.get(f"{API}/{case['case_id']}")).json()["findings"]

    async def joined() -> bool:
        return len(await findings()) == 2

    await eventually(joined, what="the second finding to join the case")
    assert (await cases.get(f"{API}/{case['case_id']}")).json()["open_findings"] == 2
    assert [c["case_id"] for c in await cases_of(cases, PERSON_A)] == [case["case_id"]]  # still one case
    assert (await case_of(cases, PERSON_B))["case_id"] != case["case_id"]
    # An officer cannot open a second one for the same person.
    refused = await cases.post(
        API, json={"person_ref": PERSON_A, "region_code": "150102", "reason": "举报线索"}, headers=officer("county")
    )
    assert refused.status_code == 409 and case["case_ref"] in refused.json()["detail"][0]["msg"]
    # The same findings again change nothing but their state: once the consumer has stored it, the case
    # still has its two findings, the person one case, and the timeline no new entry.
    timeline = await actions(cases, case["case_id"])
    again = [finding(PERSON_A), finding(PERSON_A, rule="FUND_UNIT_MISMATCH")]
    await bus.publish(*again)

    async def applied() -> bool:
        stored = sorted(datetime.fromisoformat(f["updated_at"]) for f in await findings())
        return stored == sorted(f.updated_at for f in again)

    await eventually(applied, what="the findings' new state to be stored")
    assert [c["case_id"] for c in await cases_of(cases, PERSON_A)] == [case["case_id"]]
    assert await actions(cases, case["case_id"]) == timeline == ["open", "finding_joined"]


async def test_a_confirmed_case_revokes_with_a_bar_and_sanctions_and_closes(cases, bus, case_settings) -> None:
    await bus.publish(finding(PERSON_A))
    case = await case_of(cases)
    case_id = case["case_id"]
    decision_topic = case_settings.topic(RegistrationRevokedV1.topic)
    async with TopicTail(case_settings.kafka_bootstrap_servers, decision_topic) as tail:
        before = await walk_to_decision(cases, case_id)
        assert before["status"] == "awaiting_decision" and before["reply_due"] == str(add_working_days(today(), 15).due)
        decided = await step(
            cases,
            case_id,
            "decision",
            {
                "outcome": "confirmed",
                "reason": "社保缴纳单位与注册单位长期不一致，认定挂证",
                "fine": "8000",
            },
        )
        assert decided["status"] == "decided" and decided["authority"] == "province"
        revocation = decided["sanctions"]["revocations"][0]
        assert revocation["barred_until"] == str(today().replace(year=today().year + 3))
        assert decided["sanctions"]["person"]["fine"]["amount"] == "8000"
        assert decided["sanctions"]["units"][0]["dynamic_qualification_check"]
        closed = await step(cases, case_id, "close", {"reason": "处罚决定已送达"})
        assert closed["status"] == "closed" and closed["allowed_actions"] == []
        events = [event_of(r) for r in await tail.read(2)]
    assert [e["type"] for e in events] == [RegistrationRevokedV1.event_type, CaseClosedV1.event_type]
    assert events[0]["data"]["certificate_no"] == "蒙215000001" and events[0]["data"]["case_ref"] == case["case_ref"]
    assert events[1]["data"]["outcome"] == "confirmed"
    # The timeline has every step with its actor, reason and before/after.
    entries = await timeline(cases, case_id)
    assert [e["action"] for e in entries] == [
        "open",
        "notice",
        "answer",
        "county-review",
        "city-review",
        "decision",
        "close",
    ]
    # Each step by its own level: the county's officer, the city's, the province's.
    assert [(e["actor"], e["actor_role"]) for e in entries] == [
        ("matcher-svc", "system"),
        *[("officer-xincheng-01", "county_officer")] * 3,
        ("officer-hohhot-01", "city_officer"),
        *[("officer-im-admin-01", "province_admin")] * 2,
    ]
    assert entries[5]["before"]["status"] == "awaiting_decision"
    assert entries[5]["after"]["status"] == "decided" and entries[5]["reason"].startswith("社保")


async def test_invalid_transitions_are_refused_with_a_clear_409(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    refused = await cases.post(
        f"{API}/{case_id}/decision", json={"outcome": "confirmed", "reason": "x"}, headers=officer("province")
    )
    assert refused.status_code == 409
    detail = refused.json()["detail"][0]
    assert detail["type"] == "invalid_transition"
    assert "open" in detail["msg"] and "notice" in detail["msg"] and "decision" in detail["msg"]
    future = await step(cases, case_id, "notice", {"notice_date": str(today() + timedelta(days=1))}, expect=422)
    assert future["detail"][0]["loc"] == ["body"]
    assert (await cases.get(f"{API}/{case_id}")).json()["status"] == "open"
    await step(cases, case_id, "notice", {})
    again = await cases.post(f"{API}/{case_id}/notice", json={}, headers=officer("county"))
    assert again.status_code == 409 and "awaiting_reply" in again.json()["detail"][0]["msg"]
    # An early close is refused while findings are open.
    early = await cases.post(f"{API}/{case_id}/close", json={"reason": "已一致"}, headers=officer("province"))
    assert early.status_code == 409 and early.json()["detail"][0]["type"] == "open_findings"
    # Server-owned fields cannot be set by the caller.
    sneaky = await cases.post(
        f"{API}/{case_id}/answer",
        json={"kind": "insurance_now_matches", "status": "decided"},
        headers=officer("county"),
    )
    assert sneaky.status_code == 422
    assert (await cases.get(f"{API}/{case_id}")).json()["status"] == "awaiting_reply"
    # An exemption claim without evidence is incomplete.
    bare = await cases.post(
        f"{API}/{case_id}/answer",
        json={"kind": "exemption_claimed", "exemption": "UNIVERSITY_STAFF"},
        headers=officer("county"),
    )
    assert bare.status_code == 422


async def test_send_back_returns_one_step_down_with_a_new_deadline(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    old_notice = str(today() - timedelta(days=5))
    await step(cases, case_id, "notice", {"notice_date": old_notice})
    await step(cases, case_id, "answer", {"kind": "insurance_now_matches", "evidence_refs": ["证明"]})
    # Each review sends back by its own reviewer; the case resumes with whoever must redo the work.
    sent = await step(cases, case_id, "send-back", {"reason": "证明材料不全"}, by="county")
    assert (
        sent["status"] == "sent_back"
        and sent["returns_to"] == "awaiting_reply"
        and sent["send_back_reason"] == "证明材料不全"
    )
    assert sent["allowed_actions"] == ["resume", "close"]
    resumed = await step(cases, case_id, "resume", {}, by="county")
    assert resumed["status"] == "awaiting_reply" and resumed["reply_due"] == str(add_working_days(today(), 15).due)
    await step(cases, case_id, "answer", {"kind": "insurance_now_matches", "evidence_refs": ["补充证明"]})
    await step(cases, case_id, "county-review", {"opinion": "同意"})
    city_refused = await step(cases, case_id, "send-back", {"reason": "复审不同意"}, by="city")
    assert city_refused["returns_to"] == "awaiting_county_review"
    assert (await step(cases, case_id, "resume", {}, by="county"))["status"] == "awaiting_county_review"
    await step(cases, case_id, "county-review", {"opinion": "补充后同意"})
    await step(cases, case_id, "city-review", {"opinion": "同意"})
    at_decision = await step(cases, case_id, "send-back", {"reason": "事实不清"}, by="province")
    assert at_decision["returns_to"] == "awaiting_city_review"
    assert (await step(cases, case_id, "resume", {}, by="city"))["status"] == "awaiting_city_review"
    reviews = (await cases.get(f"{API}/{case_id}")).json()["reviews"]
    assert [(r["level"], r["result"]) for r in reviews] == [
        ("county", "sent_back"),
        ("county", "passed"),
        ("city", "sent_back"),
        ("county", "passed"),
        ("city", "passed"),
        ("decision", "sent_back"),
    ]


async def test_deadlines_and_overdue_cases(cases, bus) -> None:
    await bus.publish(finding(PERSON_A), finding(PERSON_B))
    late, on_time = (await case_of(cases, PERSON_A))["case_id"], (await case_of(cases, PERSON_B))["case_id"]
    # The reply is due 15 working days after the notice: the earliest notice date still in time today, and the
    # day before it, already late.
    in_time = today()
    while add_working_days(in_time - timedelta(days=1), 15).due >= today():
        in_time -= timedelta(days=1)
    due = add_working_days(in_time, 15).due
    await step(cases, late, "notice", {"notice_date": str(in_time - timedelta(days=1))})
    await step(cases, on_time, "notice", {"notice_date": str(in_time)})
    overdue = (await cases.get(API, params={"overdue": "true"})).json()["items"]
    assert [c["case_id"] for c in overdue] == [late] and overdue[0]["overdue"]
    assert [c["case_id"] for c in (await cases.get(API, params={"overdue": "false"})).json()["items"]] == [on_time]
    third = "c" * 26  # a case not yet notified has no deadline: never overdue
    await bus.publish(finding(third))
    not_notified = (await case_of(cases, third))["case_id"]
    not_overdue = {c["case_id"] for c in (await cases.get(API, params={"overdue": "false"})).json()["items"]}
    assert not_overdue == {on_time, not_notified}
    day_after = str(due + timedelta(days=1))
    assert len((await cases.get(API, params={"overdue": "true", "as_of": day_after})).json()["items"]) == 2
    # No reply can be recorded while the deadline runs; past it, the case goes on to review.
    early = await step(cases, on_time, "no-reply", {"reason": "未反馈"}, expect=409)
    assert early["detail"][0]["type"] == "deadline_not_passed"
    moved = await step(cases, late, "no-reply", {"reason": "逾期未反馈"})
    assert moved["status"] == "awaiting_county_review" and not moved["overdue"]


async def test_self_correction_ministry_and_exemption_outcomes(cases, bus, case_settings, case_db) -> None:
    third = "c" * 26
    await bus.publish(
        finding(PERSON_A), finding(PERSON_B, category="constructor_1", certificate_no="蒙115000009"), finding(third)
    )
    a, b, c = [(await case_of(cases, p))["case_id"] for p in (PERSON_A, PERSON_B, third)]
    async with TopicTail(
        case_settings.kafka_bootstrap_servers, case_settings.topic(RegistrationRevokedV1.topic)
    ) as tail:
        # Cancelled during Inner Mongolia's 自查自纠 (2024-08 … 2024-10): self-corrected, liability waived.
        await walk_to_decision(
            cases, a, {"kind": "cancelled_registration", "cancelled_on": "2024-11-02", "evidence_refs": ["注销证明"]}
        )
        outside = await step(cases, a, "decision", {"outcome": "self_corrected", "reason": "自查自纠"}, expect=422)
        assert "2024-08-01" in outside["detail"][0]["msg"]
        assert (await cases.get(f"{API}/{a}")).json()["status"] == "awaiting_decision"  # refused: nothing changed
        # A ministry-managed certificate: confirmed, reported to the ministry, not revoked here.
        await walk_to_decision(cases, b)
        ministry = await step(cases, b, "decision", {"outcome": "confirmed", "reason": "认定挂证"})
        assert ministry["authority"] == "ministry" and ministry["sanctions"]["revocations"] == []
        assert ministry["sanctions"]["ministry_reports"][0]["to"] == "住房和城乡建设部"
        # An exemption claimed with evidence and granted: the matcher is told.
        await walk_to_decision(
            cases, c, {"kind": "exemption_claimed", "exemption": "UNIVERSITY_STAFF", "evidence_refs": ["聘用合同"]}
        )
        granted = await step(
            cases,
            c,
            "decision",
            {"outcome": "not_guazheng", "not_guazheng_reason": "exemption", "reason": "高校教师"},
        )
        assert granted["outcome"] == "not_guazheng" and granted["decision"]["exemption"] == "UNIVERSITY_STAFF"
        await wait_outbox_empty(case_db)
        events = [event_of(r) for r in await tail.read_to_end()]
    assert [e["type"] for e in events] == [ExemptionDecidedV1.event_type]
    assert events[0]["data"] == {
        "person_ref": third,
        "exemption": "UNIVERSITY_STAFF",
        "rule": None,
        "granted": True,
        "case_ref": granted["case_ref"],
    }


async def test_self_correction_within_the_dates_waives_liability(cases, bus) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    await walk_to_decision(
        cases, case_id, {"kind": "cancelled_registration", "cancelled_on": "2024-10-20", "evidence_refs": ["注销证明"]}
    )
    answer = (await cases.get(f"{API}/{case_id}")).json()["answer"]
    assert answer["within_self_correction"] is True
    decided = await step(cases, case_id, "decision", {"outcome": "self_corrected", "reason": "自查自纠期间已注销"})
    assert (
        decided["outcome"] == "self_corrected"
        and decided["decision"]["liability_waived"]
        and decided["sanctions"] is None
    )


async def test_cleared_findings_are_noted_and_the_case_closes_as_already_consistent(cases, bus, case_settings) -> None:
    await bus.publish(finding(PERSON_A))
    case = await case_of(cases)
    await step(cases, case["case_id"], "notice", {})
    await bus.publish(finding(PERSON_A, status="cleared"))

    async def noted() -> bool:
        return "all_findings_resolved" in await actions(cases, case["case_id"])

    await eventually(noted, what="the case's timeline to note that every finding is resolved")
    assert await actions(cases, case["case_id"]) == ["open", "notice", "finding_cleared", "all_findings_resolved"]
    assert (await cases.get(f"{API}/{case['case_id']}")).json()["status"] == "awaiting_reply"  # stays for the officer
    async with TopicTail(case_settings.kafka_bootstrap_servers, case_settings.topic(CaseClosedV1.topic)) as tail:
        closed = await step(cases, case["case_id"], "close", {"reason": "社保已与注册单位一致"})
        assert closed["outcome"] == "not_guazheng" and closed["outcome_reason"] == "already_consistent"
        assert event_of((await tail.read(1))[0])["data"]["outcome"] == "not_guazheng"
    # A new open finding for the person later opens a new case: the closed one stays closed.
    await bus.publish(finding(PERSON_A, rule="SI_NONE"))

    async def second() -> bool:
        return len(await cases_of(cases, PERSON_A)) == 2

    await eventually(second, what="a second case for the person")
    assert {c["status"] for c in await cases_of(cases, PERSON_A)} == {"closed", "open"}


async def test_an_untouched_case_whose_findings_clear_is_withdrawn(cases, bus, case_settings, case_db) -> None:
    await bus.publish(finding(PERSON_A), finding(PERSON_A, rule="SI_NONE"))

    async def two_findings() -> bool:
        return len((await case_of(cases))["findings"]) == 2

    await eventually(two_findings, what="both findings in the person's case")
    case = await case_of(cases)
    async with TopicTail(case_settings.kafka_bootstrap_servers, case_settings.topic(CaseClosedV1.topic)) as tail:
        await bus.publish(finding(PERSON_A, status="cleared"))

        async def cleared() -> bool:
            return "finding_cleared" in await actions(cases, case["case_id"])

        await eventually(cleared, what="the cleared finding on the case's timeline")
        # One finding is still open: the case stays, and nothing is published.
        assert (await cases.get(f"{API}/{case['case_id']}")).json()["status"] == "open"
        await wait_outbox_empty(case_db)
        assert await tail.read_to_end() == []
        await bus.publish(finding(PERSON_A, rule="SI_NONE", status="exempted", exemption="RETIRED"))
        closed = event_of((await tail.read(1))[0])["data"]
    assert closed["outcome"] == "withdrawn" and closed["case_ref"] == case["case_ref"]
    withdrawn = (await cases.get(f"{API}/{case['case_id']}")).json()
    assert (
        withdrawn["status"] == "closed"
        and withdrawn["outcome"] is None
        and withdrawn["outcome_reason"] == "findings_cleared"
    )
    assert await actions(cases, case["case_id"]) == [
        "open",
        "finding_joined",
        "finding_cleared",
        "finding_exempted",
        "close",
    ]


async def test_the_audit_trail_refuses_update_and_delete(cases, bus, case_db) -> None:
    await bus.publish(finding(PERSON_A))
    case_id = (await case_of(cases))["case_id"]
    await step(cases, case_id, "notice", {})
    conn = await asyncpg.connect(case_db)  # the application's own role and database
    try:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", uuid.UUID(case_id)) == 2
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_log") >= 2
        privileges = await conn.fetch(
            "SELECT privilege_type FROM information_schema.role_table_grants WHERE table_name = 'audit_log' "
            "AND grantee IN ('PUBLIC', current_user)"
        )
        assert not {"UPDATE", "DELETE", "TRUNCATE"} & {row["privilege_type"] for row in privileges}
    finally:
        await conn.close()


async def test_region_scope_hides_other_regions_cases(cases, bus) -> None:
    await bus.publish(finding(PERSON_A, region_code="150102"), finding(PERSON_B, region_code="150203"))
    a = await case_of(cases, PERSON_A)
    await case_of(cases, PERSON_B)
    listed = (await cases.get(API, headers=officer("city"))).json()["items"]
    assert [c["person_ref"] for c in listed] == [PERSON_A]
    # Filtering on a region outside the caller's is refused, saying so (not an empty page).
    outside = await cases.get(API, params={"region_code": "150200"}, headers=officer("city"))
    assert outside.status_code == 403 and "outside your regions" in outside.json()["detail"][0]["msg"]
    heilongjiang = caller_headers(regions=["230000"], role="province_admin")
    assert (await cases.get(f"{API}/{a['case_id']}", headers=heilongjiang)).status_code == 404
    baotou = caller_headers(regions=["150200"], role="city_officer")
    assert (await cases.get(f"{API}/{a['case_id']}/timeline", headers=baotou)).status_code == 404
    assert (await cases.get(f"{API}/{a['case_id']}", headers=officer("city"))).status_code == 200
    # A header claiming a wider region means nothing: the credential's regions decide.
    forged = {**baotou, "X-Region-Scope": "000000"}
    assert (await cases.get(f"{API}/{a['case_id']}", headers=forged)).status_code == 404
    assert [c["person_ref"] for c in (await cases.get(API, headers=forged)).json()["items"]] == [PERSON_B]


async def test_many_confirmed_cases_at_one_unit_start_an_attendance_check(cases, bus) -> None:
    people = [c * 26 for c in "defg"]
    await bus.publish(*(finding(p, certificate_no=f"蒙2150{i:05d}") for i, p in enumerate(people)))
    for number, person in enumerate(people[:3], start=1):
        case_id = (await case_of(cases, person))["case_id"]
        await walk_to_decision(cases, case_id)
        decided = await step(cases, case_id, "decision", {"outcome": "confirmed", "reason": "认定挂证"})
        assert decided["decision"]["attendance_checks"] == (["91150100MA0000001X"] if number == 3 else [])
    checks = await every_item(cases, f"{API}/attendance-checks")
    assert [{k: v for k, v in c.items() if k not in ("check_id", "created_at")} for c in checks] == [
        {
            "campaign_id": "IM-2024",
            "region_code": "150102",
            "unit_name": "呼和浩特华建建设有限公司",
            "unit_uscc": "91150100MA0000001X",
            "confirmed_cases": 3,
            "status": "open",
        }
    ]
    assert uuid.UUID(checks[0]["check_id"]).version == 4
    assert datetime.fromisoformat(checks[0]["created_at"]) <= datetime.now(UTC)
    # Another city's bureau sees none of it.
    baotou = caller_headers(regions=["150200"], role="city_officer")
    assert (await cases.get(f"{API}/attendance-checks", headers=baotou)).json() == {"items": [], "next_cursor": None}


async def test_lists_refuse_a_tampered_cursor_or_a_nul_clearly(cases, bus) -> None:
    await bus.publish(finding(PERSON_A), finding(PERSON_B))
    await case_of(cases, PERSON_B)
    first = (await cases.get(API, params={"limit": "1"})).json()
    assert first["next_cursor"]
    assert (await cases.get(API, params={"limit": "1", "cursor": first["next_cursor"]})).status_code == 200
    case_id = (await case_of(cases, PERSON_B))["case_id"]
    for path in (
        API,
        "/api/v1/complaints",
        f"{API}/{case_id}/timeline",
        f"{API}/attendance-checks",
        "/api/v1/reports/campaigns/HLJ-2018",
    ):
        for tampered in (
            encode_cursor(["150102"]),
            encode_cursor(["150102", "not-a-uuid"]),
            encode_cursor([1, 2]),
            "%%%",
        ):
            response = await cases.get(path, params={"cursor": tampered})
            assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "cursor"], (
                path,
                tampered,
            )
    for params in ({"campaign_id": "IM\x002024"}, {"person_ref": "abcdefgh\x00"}):
        response = await cases.get(API, params=params)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query"]
    assert (await cases.get(f"{API}/abc%00def")).status_code == 422
