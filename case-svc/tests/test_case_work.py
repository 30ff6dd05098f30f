"""Case work end to end on the real broker and database: assignment by hand and round-robin, 我的待办, the
working lock (two officers never work one case at once), bulk actions that do only what they name, notices,
督办 leading the queues, and deadlines in working days.

People are synthetic pseudonyms; nothing printed carries a name or an ID.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
from case_helpers import (
    CASES,
    PERSON_A,
    PERSON_B,
    case_of,
    every_item,
    finding,
    officer,
    step,
    timeline,
    walk_to_decision,
)

from case_svc.cases.deadlines import add_working_days
from case_svc.cases.service import today
from devtools.testing import caller_headers

PERSON_C = "c" * 26


def county(actor: str) -> dict[str, str]:
    return officer("county", actor=actor)


async def opened(cases, bus, *people: str) -> list[dict]:
    await bus.publish(*(finding(p) for p in people))
    return [await case_of(cases, p) for p in people]


async def ids(cases, params: dict, headers: dict | None = None) -> list[str]:
    return [c["case_id"] for c in await every_item(cases, CASES, params, headers)]


async def test_cases_are_assigned_by_hand_and_make_my_queue(cases, bus) -> None:
    a, b = await opened(cases, bus, PERSON_A, PERSON_B)
    assigned = await cases.post(f"{CASES}/{a['case_ref']}/assign", json={"assignee": "zhangwei"}, headers=county("liu"))
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "zhangwei" and assigned.json()["status"] == "open"  # no step taken
    assert assigned.json()["lock"] is None  # and no lock
    entry = (await timeline(cases, a["case_id"]))[-1]
    assert (entry["action"], entry["actor"], entry["before"], entry["after"]) == (
        "assign",
        "liu",
        {"assignee": None},
        {"assignee": "zhangwei"},
    )
    # 我的待办: the caller's own undecided cases; by name; nobody's.
    assert await ids(cases, {"assignee": "me"}, county("zhangwei")) == [a["case_id"]]
    assert await ids(cases, {"assignee": "me"}, county("liu")) == []
    assert await ids(cases, {"assignee": "zhangwei"}, county("liu")) == [a["case_id"]]
    assert await ids(cases, {"assignee": "none"}, county("liu")) == [b["case_id"]]
    # Who may assign: an officer of the case's level or above; no dashboard, no name that is a filter word.
    city_case_officer = caller_headers(regions=["150100"], role="county_officer", actor="x")
    await bus.publish(finding(PERSON_C, region_code="150100"))
    city_case = await case_of(cases, PERSON_C)
    refused = await cases.post(
        f"{CASES}/{city_case['case_id']}/assign", json={"assignee": "x"}, headers=city_case_officer
    )
    assert refused.status_code == 403 and "city_officer" in refused.json()["detail"][0]["msg"]
    by_city = await cases.post(
        f"{CASES}/{city_case['case_id']}/assign", json={"assignee": "zhao"}, headers=officer("city")
    )
    assert by_city.status_code == 200
    dashboard = caller_headers(regions=["150000"], role="dashboard", actor="d")
    assert (
        await cases.post(f"{CASES}/{b['case_id']}/assign", json={"assignee": "x"}, headers=dashboard)
    ).status_code == 403
    for word in ("me", "none", "两个字"):
        bad = await cases.post(f"{CASES}/{b['case_id']}/assign", json={"assignee": word}, headers=county("liu"))
        assert bad.status_code == 422, word
    # A decided case leaves 我的待办 but stays the officer's.
    await walk_to_decision(cases, a["case_id"])
    await step(cases, a["case_id"], "decision", {"outcome": "confirmed", "reason": "认定挂证"})
    assert await ids(cases, {"assignee": "me"}, county("zhangwei")) == []
    assert await ids(cases, {"assignee": "zhangwei"}, county("liu")) == [a["case_id"]]


async def test_round_robin_spreads_unassigned_cases_evenly_in_a_fixed_order(cases, bus) -> None:
    people = [ch * 26 for ch in "defgh"]
    opened_cases = await opened(cases, bus, *people)
    first = sorted(opened_cases, key=lambda c: c["case_ref"])[0]
    await cases.post(f"{CASES}/{first['case_id']}/assign", json={"assignee": "li"}, headers=county("liu"))
    body = {"region_code": "150102", "assignees": ["li", "wang"]}
    result = await cases.post(f"{CASES}/assign-round-robin", json=body, headers=officer("city"))
    assert result.status_code == 200, result.text
    spread = result.json()
    # li already has one: wang first, then whoever has fewer, ties to the one named first.
    refs = sorted(c["case_ref"] for c in opened_cases if c["case_id"] != first["case_id"])
    assert [(a["case_ref"], a["assignee"]) for a in spread["assignments"]] == list(
        zip(refs, ["wang", "li", "wang", "li"], strict=True)
    )
    assert spread["load"] == [{"assignee": "li", "undecided_cases": 3}, {"assignee": "wang", "undecided_cases": 2}]
    # Again: nothing is left unassigned; named cases already assigned or unknown are skipped, saying why.
    again = await cases.post(
        f"{CASES}/assign-round-robin",
        json=body | {"case_ids": [first["case_ref"], "AJ-150102-2026-999999", "nonsense"]},
        headers=officer("city"),
    )
    assert again.status_code == 200 and again.json()["assignments"] == []
    reasons = {s["case"]: s["reason"] for s in again.json()["skipped"]}
    assert reasons[first["case_ref"]] == "already assigned to li"
    assert "no case" in reasons["AJ-150102-2026-999999"] and "uuid" in reasons["nonsense"]
    # A county officer spreads his county's cases, not the city's; a region outside the caller's is refused.
    assert (
        await cases.post(f"{CASES}/assign-round-robin", json=body | {"region_code": "150100"}, headers=county("liu"))
    ).status_code == 403
    assert (
        await cases.post(f"{CASES}/assign-round-robin", json=body | {"region_code": "150203"}, headers=county("liu"))
    ).status_code == 403
    both = await cases.post(
        f"{CASES}/assign-round-robin", json=body | {"case_ids": ["x"], "filter": {}}, headers=county("liu")
    )
    assert both.status_code == 422


async def test_cases_go_only_to_officers_the_gateway_vouches_for_in_the_cases_region(cases, bus) -> None:
    """An assignee is someone the gateway knows to work cases (its credential names them, with their regions):
    never a stranger, never an officer of another region — by hand, in bulk, by round-robin or for a complaint."""
    a, b = await opened(cases, bus, "p" * 26, "q" * 26)
    for name, words in (("officer-baotou-01", "does not cover 150102"), ("stranger", "not the username")):
        refused = await cases.post(f"{CASES}/{a['case_id']}/assign", json={"assignee": name}, headers=officer("city"))
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["detail"]
        assert (error["type"], error["loc"]) == ("assignee_not_eligible", ["body", "assignee"]) and words in error[
            "msg"
        ]
        bulk = await cases.post(
            f"{CASES}/bulk", json={"action": "assign", "case_ids": [a["case_id"]], "assignee": name},
            headers=officer("city"),
        )  # fmt: skip
        assert [(r["outcome"], words in r["reason"]) for r in bulk.json()["results"]] == [("refused", True)]
    # A round-robin gives each case only to those named who work in its region; with none, it says so.
    only_baotou = {"region_code": "150102", "assignees": ["officer-baotou-01"]}
    nobody = await cases.post(f"{CASES}/assign-round-robin", json=only_baotou, headers=officer("province"))
    assert nobody.json()["assignments"] == []
    assert {s["case"] for s in nobody.json()["skipped"]} == {a["case_ref"], b["case_ref"]}
    assert all("no officer named works in its region" in s["reason"] for s in nobody.json()["skipped"])
    mixed = await cases.post(
        f"{CASES}/assign-round-robin", json=only_baotou | {"assignees": ["officer-baotou-01", "wang"]},
        headers=officer("province"),
    )  # fmt: skip
    assert {(x["case_ref"], x["assignee"]) for x in mixed.json()["assignments"]} == {
        (a["case_ref"], "wang"), (b["case_ref"], "wang"),
    }  # fmt: skip
    assert {e["action"] for e in await timeline(cases, a["case_id"])} >= {"assign"}
    assert [e["after"] for e in await timeline(cases, a["case_id"]) if e["action"] == "assign"] == [
        {"assignee": "wang"}
    ]


async def test_two_officers_cannot_work_one_case_at_once(cases, bus, case_db) -> None:
    (a,) = await opened(cases, bus, PERSON_A)
    taken = await cases.post(f"{CASES}/{a['case_id']}/take", headers=county("zhang"))
    assert taken.status_code == 200 and taken.json()["holder"] == "zhang"
    expires = datetime.fromisoformat(taken.json()["expires_at"])
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)
    # The other officer can neither take it nor act on it: 409 naming the holder.
    for response in (
        await cases.post(f"{CASES}/{a['case_id']}/take", headers=county("liu")),
        await cases.post(f"{CASES}/{a['case_id']}/notice", json={}, headers=county("liu")),
        await cases.delete(f"{CASES}/{a['case_id']}/take", headers=county("liu")),
    ):
        assert response.status_code == 409, response.text
        error = response.json()["detail"][0]
        assert error["type"] == "case_locked" and "zhang" in error["msg"] and "二人不能同时办理一案" in error["msg"]
        # The holder as a field of the error too (the case's `lock`), beside the error's three members.
        assert error["lock"]["holder"] == "zhang" and datetime.fromisoformat(error["lock"]["expires_at"]) == expires
        assert set(error) == {"type", "msg", "loc", "lock"} and set(response.json()) == {"detail"}
    shown = (await cases.get(f"{CASES}/{a['case_id']}", headers=county("liu"))).json()
    assert shown["lock"]["holder"] == "zhang" and shown["status"] == "open"
    # The holder acts, renewing the lease; then releases it, and the other officer may take it.
    noticed = await cases.post(f"{CASES}/{a['case_id']}/notice", json={}, headers=county("zhang"))
    assert noticed.status_code == 200 and datetime.fromisoformat(noticed.json()["lock"]["expires_at"]) >= expires
    released = await cases.delete(f"{CASES}/{a['case_id']}/take", headers=county("zhang"))
    assert released.status_code == 200 and released.json()["holder"] is None
    assert (await cases.post(f"{CASES}/{a['case_id']}/take", headers=county("liu"))).json()["holder"] == "liu"
    # A lease that ended lets another take the case, said on the timeline; the lock never moves otherwise.
    pg = await asyncpg.connect(case_db)
    try:
        await pg.execute(
            "UPDATE cases SET lock_expires_at = now() - interval '1 minute' WHERE case_id = $1::uuid", a["case_id"]
        )
    finally:
        await pg.close()
    assert (await cases.get(f"{CASES}/{a['case_id']}")).json()["lock"] is None
    assert (await cases.post(f"{CASES}/{a['case_id']}/take", headers=county("zhang"))).json()["holder"] == "zhang"
    takes = [e for e in await timeline(cases, a["case_id"]) if e["action"] in ("take", "release")]
    assert [(e["action"], e["actor"]) for e in takes] == [
        ("take", "zhang"),
        ("release", "zhang"),
        ("take", "liu"),
        ("take", "zhang"),
    ]
    assert takes[-1]["reason"] == "the lease of liu had ended"


async def test_bulk_actions_do_each_case_on_its_own_and_nothing_else(cases, bus) -> None:
    a, b = await opened(cases, bus, PERSON_A, PERSON_B)
    await cases.post(f"{CASES}/{b['case_id']}/take", headers=county("zhang"))
    body = {
        "action": "notice",
        "case_ids": [a["case_ref"], b["case_id"], "AJ-150102-2026-999999"],
        "notice_ref": "新建函〔2026〕3号",
    }
    result = await cases.post(f"{CASES}/bulk", json=body, headers=county("liu"))
    assert result.status_code == 200, result.text
    outcome = result.json()
    assert (outcome["done"], outcome["refused"]) == (1, 2)
    first, second, third = outcome["results"]
    assert (first["outcome"], first["status"], first["case_id"]) == ("done", "awaiting_reply", a["case_id"])
    assert second["outcome"] == "refused" and "zhang" in second["reason"] and second["status"] == "open"
    assert third == {
        "case": "AJ-150102-2026-999999", "case_id": None, "case_ref": None, "outcome": "refused",
        "reason": "no case with this reference", "status": None,
    }  # fmt: skip
    after = (await cases.get(f"{CASES}/{a['case_id']}")).json()
    assert after["lock"] is None and after["assignee"] is None  # no lock taken, nothing else done
    # A step the caller's level does not own is refused for that case and kept on its audit trail.
    city = await cases.post(
        f"{CASES}/bulk", json={"action": "notice", "case_ids": [a["case_id"]]}, headers=officer("city")
    )
    assert city.json()["results"][0]["outcome"] == "refused"  # a is awaiting the reply: notice is no longer allowed
    await cases.delete(f"{CASES}/{b['case_id']}/take", headers=county("zhang"))
    city = await cases.post(
        f"{CASES}/bulk", json={"action": "notice", "case_ids": [b["case_id"]]}, headers=officer("city")
    )
    refusal = city.json()["results"][0]
    assert refusal["outcome"] == "refused" and "county_officer" in refusal["reason"]
    assert (await timeline(cases, b["case_id"]))[-1]["action"] == "refused"
    # 催办: on each timeline, the state and the lock unchanged; assign: the assignee, nothing else.
    reminded = await cases.post(
        f"{CASES}/bulk", json={"action": "remind", "case_ids": [a["case_id"], b["case_id"]], "message": "请本周内反馈"},
        headers=officer("city"),
    )  # fmt: skip
    assert [r["outcome"] for r in reminded.json()["results"]] == ["done", "done"]
    entry = (await timeline(cases, a["case_id"]))[-1]
    assert (entry["action"], entry["reason"], entry["actor"]) == ("remind", "请本周内反馈", "officer-hohhot-01")
    assigned = await cases.post(
        f"{CASES}/bulk", json={"action": "assign", "case_ids": [a["case_id"], b["case_id"]], "assignee": "wang"},
        headers=officer("city"),
    )  # fmt: skip
    assert assigned.json()["done"] == 2
    states = {c["case_id"]: (c["status"], c["assignee"], c["lock"]) for c in await every_item(cases, CASES)}
    assert states == {a["case_id"]: ("awaiting_reply", "wang", None), b["case_id"]: ("open", "wang", None)}
    for wrong in (
        {"action": "assign", "case_ids": [a["case_id"]]},
        {"action": "remind", "case_ids": [a["case_id"]], "assignee": "wang"},
        {"action": "notice", "case_ids": [a["case_id"], a["case_id"]]},
        {"action": "close", "case_ids": [a["case_id"]]},
    ):
        assert (await cases.post(f"{CASES}/bulk", json=wrong, headers=officer("city"))).status_code == 422, wrong


async def test_deadlines_are_working_days_and_each_review_has_one(cases, bus) -> None:
    (a,) = await opened(cases, bus, PERSON_A)
    noticed = await step(cases, a["case_id"], "notice", {})
    reply = add_working_days(today(), 15)
    assert noticed["reply_due"] == noticed["due_on"] == str(reply.due)
    basis = noticed["due_basis"]
    assert (basis["kind"], basis["from"], basis["working_days"], basis["due"]) == (
        "reply",
        str(today()),
        15,
        str(reply.due),
    )
    assert basis["text"] == reply.text and "工作日" in basis["text"]
    answered = await step(
        cases, a["case_id"], "answer", {"kind": "insurance_now_matches", "evidence_refs": ["社保证明"]}
    )
    review = add_working_days(today(), 10, "review").due
    assert answered["review_due"] == answered["due_on"] == str(review) and answered["due_basis"]["kind"] == "review"
    assert answered["reply_due"] == str(reply.due)  # kept
    assert await ids(cases, {"overdue": "true", "as_of": str(review)}) == []
    assert await ids(cases, {"overdue": "true", "as_of": str(review + timedelta(days=1))}) == [a["case_id"]]
    # The timeline shows the deadlines old → new.
    entry = next(e for e in await timeline(cases, a["case_id"]) if e["action"] == "answer")
    assert entry["before"]["review_due"] is None and entry["after"]["review_due"] == str(review)


async def test_notices_say_what_comes_due_is_overdue_supervised_or_reminded(cases, bus) -> None:
    a, b = await opened(cases, bus, PERSON_A, PERSON_B)
    await cases.post(f"{CASES}/{a['case_id']}/assign", json={"assignee": "zhang"}, headers=county("liu"))
    await step(cases, a["case_id"], "notice", {})
    due = date.fromisoformat((await cases.get(f"{CASES}/{a['case_id']}")).json()["reply_due"])

    async def notices(as_of: date, actor: str = "zhang") -> dict:
        response = await cases.get(f"{CASES}/notices", params={"as_of": str(as_of)}, headers=county(actor))
        assert response.status_code == 200, response.text
        return response.json()

    assert (await notices(today()))["counts"] == {"due_soon": 0, "overdue": 0, "supervised": 0, "reminded": 0}
    soon = await notices(due - timedelta(days=1))
    assert soon["counts"]["due_soon"] == 1 and soon["notices"][0]["case_id"] == a["case_id"]
    assert soon["notices"][0]["due_on"] == str(due) and "即将到期" in soon["notices"][0]["message"]
    late = await notices(due + timedelta(days=1))
    assert late["counts"]["overdue"] == 1 and late["notices"][0]["overdue"]
    # The province supervises b; a reminder on a: both are the officers' notices.
    supervised = await cases.post(
        f"{CASES}/{b['case_id']}/supervision", json={"deadline": str(today() + timedelta(days=20)), "note": "尽快办结"},
        headers=officer("province"),
    )  # fmt: skip
    assert supervised.status_code == 200, supervised.text
    await cases.post(
        f"{CASES}/bulk",
        json={"action": "remind", "case_ids": [a["case_id"]], "message": "请加快"},
        headers=officer("city"),
    )
    now = await notices(today())
    assert now["counts"] == {"due_soon": 0, "overdue": 0, "supervised": 1, "reminded": 1}
    kinds = {n["kind"]: n for n in now["notices"]}
    assert kinds["supervised"]["case_id"] == b["case_id"] and "尽快办结" in kinds["supervised"]["message"]
    assert kinds["reminded"]["case_id"] == a["case_id"] and "请加快" in kinds["reminded"]["message"]
    assert (await notices(today(), "liu"))["counts"]["reminded"] == 0  # a is zhang's
    dashboard = caller_headers(regions=["150000"], role="dashboard", actor="d")
    assert (await cases.get(f"{CASES}/notices", headers=dashboard)).status_code == 403


async def test_supervised_cases_lead_the_queues_and_the_province_follows_them(cases, bus) -> None:
    opened_cases = await opened(cases, bus, PERSON_A, PERSON_B, PERSON_C)
    last = max(opened_cases, key=lambda c: (c["region_code"], c["case_id"]))
    deadline = today() + timedelta(days=30)
    flag = {"deadline": str(deadline), "note": "挂牌督办"}
    refused = await cases.post(f"{CASES}/{last['case_id']}/supervision", json=flag, headers=officer("city"))
    assert refused.status_code == 403 and "province_admin" in refused.json()["detail"][0]["msg"]
    past = await cases.post(
        f"{CASES}/{last['case_id']}/supervision",
        json={"deadline": str(today() - timedelta(days=1))},
        headers=officer("province"),
    )
    assert past.status_code == 422
    flagged = await cases.post(f"{CASES}/{last['case_id']}/supervision", json=flag, headers=officer("province"))
    assert flagged.status_code == 200 and flagged.json()["supervision"]["deadline"] == str(deadline)
    # It leads the county's queue, page after page.
    queue = [c["case_id"] for c in await every_item(cases, CASES, {"limit": 1}, county("liu"))]
    assert queue[0] == last["case_id"] and sorted(queue) == sorted(c["case_id"] for c in opened_cases)
    # The province sees its progress: its stage, not done, not overdue — until the deadline passes.
    progress = await every_item(cases, f"{CASES}/supervised", headers=officer("province"))
    assert [(p["case_id"], p["status_label"], p["done"], p["overdue"]) for p in progress] == [
        (last["case_id"], "待通知", False, False)
    ]
    assert progress[0]["working_days_left"] > 0 and progress[0]["name"] == "测试人员"
    assert progress[0]["person_ref"] == last["person_ref"]  # whose data it is, for the gateway's access log
    later = await every_item(
        cases, f"{CASES}/supervised", {"as_of": str(deadline + timedelta(days=1))}, officer("province")
    )
    assert later[0]["overdue"] and later[0]["working_days_left"] <= 0  # the day after may be a holiday
    much_later = await every_item(
        cases, f"{CASES}/supervised", {"as_of": str(deadline + timedelta(days=20))}, officer("province")
    )
    assert much_later[0]["overdue"] and much_later[0]["working_days_left"] < 0
    # Lifted by the province; on the timeline both ways.
    lifted = await cases.delete(f"{CASES}/{last['case_id']}/supervision", headers=officer("province"))
    assert lifted.status_code == 200 and lifted.json()["supervision"] is None
    assert await every_item(cases, f"{CASES}/supervised", headers=officer("province")) == []
    assert (
        await cases.delete(f"{CASES}/{last['case_id']}/supervision", headers=officer("province"))
    ).status_code == 409
    actions = [e["action"] for e in await timeline(cases, last["case_id"])]
    assert actions[-2:] == ["supervise", "lift-supervision"]
