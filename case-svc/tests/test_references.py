"""The references people use: a case or complaint is named by its printed number (AJ-…, TS-…) wherever its id
is, under the same region scope; the filters officers need on the case list; no filter silently ignored."""

from __future__ import annotations

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

from devtools.testing import caller_headers

COMPLAINTS = "/api/v1/complaints"


async def test_a_case_and_a_complaint_are_reached_by_their_printed_numbers(cases, bus) -> None:
    await bus.publish(finding(PERSON_A), registration(PERSON_B, "150102", "蒙2150000501"))
    case = await case_of(cases)
    ref = case["case_ref"]
    assert ref.startswith("AJ-150102-")
    by_number = await cases.get(f"{CASES}/{ref}")
    assert by_number.status_code == 200 and by_number.json() == case
    # Every route that names a case takes its number: the timeline, and each action.
    noticed = await step(cases, ref, "notice", {"notice_ref": "新建函〔2026〕3号"})
    assert noticed["case_id"] == case["case_id"] and noticed["status"] == "awaiting_reply"
    assert [e["action"] for e in await every_item(cases, f"{CASES}/{ref}/timeline")] == ["open", "notice"]
    # A complaint by its registration number; linking a case by its number.
    county = officer("county")
    registered = (await cases.post(COMPLAINTS, json=complaint(region_code="150102"), headers=county)).json()
    number = registered["registration_no"]
    assert (await cases.get(f"{COMPLAINTS}/{number}")).json() == registered
    assigned = await cases.post(f"{COMPLAINTS}/{number}/assign", json={"assignee": "officer-x"}, headers=county)
    assert assigned.status_code == 200 and assigned.json()["complaint_id"] == registered["complaint_id"]
    linked = await cases.post(f"{COMPLAINTS}/{number}/cases", json={"case_id": ref}, headers=county)
    assert linked.status_code == 200 and linked.json()["case_ids"] == [case["case_id"]]
    history = await every_item(cases, f"{COMPLAINTS}/{number}/history")
    assert [h["action"] for h in history] == ["register", "assign", "link_case"]
    assert "link_case" in [e["action"] for e in await timeline(cases, case["case_id"])]
    # Outside the caller's regions a number is as absent as an id, in the same words.
    baotou = caller_headers(regions=["150200"], role="city_officer", actor="officer-baotou-01")
    for path in (
        f"{CASES}/{ref}",
        f"{CASES}/{case['case_id']}",
        f"{CASES}/{ref}/timeline",
        f"{COMPLAINTS}/{number}",
        f"{COMPLAINTS}/{registered['complaint_id']}",
        f"{COMPLAINTS}/{number}/history",
    ):
        response = await cases.get(path, headers=baotou)
        assert response.status_code == 404, path
        assert response.json()["detail"][0]["msg"] in (
            "no case with this reference",
            "no complaint with this reference",
        )
    missing = await cases.get(f"{CASES}/AJ-150102-2026-999999")
    assert missing.status_code == 404 and missing.json()["detail"][0]["msg"] == "no case with this reference"
    # Anything else is a 422 naming what a case is named by (never echoing what was sent).
    for junk in ("AJ-77", "TS-150102-2026-000001", "12345"):
        response = await cases.get(f"{CASES}/{junk}")
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "case_id"], junk
        assert junk not in response.text
    assert (await cases.get(f"{COMPLAINTS}/{ref}")).status_code == 422
    bad_link = await cases.post(f"{COMPLAINTS}/{number}/cases", json={"case_id": "AJ-x"}, headers=county)
    assert bad_link.status_code == 422 and bad_link.json()["detail"][0]["loc"] == ["body", "case_id"]


async def test_officers_find_cases_by_number_and_name_and_no_filter_is_ignored(cases, bus) -> None:
    names = {PERSON_A: "张建国", PERSON_B: "张建华", "c" * 26: "李张建"}
    await bus.publish(*(finding(p, name=n, certificate_no=f"蒙2150000{i}") for i, (p, n) in enumerate(names.items())))
    found = {p: await case_of(cases, p) for p in names}

    async def refs(**params: str) -> set[str]:
        return {c["case_ref"] for c in await every_item(cases, CASES, params=params)}

    assert await refs(case_ref=found[PERSON_A]["case_ref"]) == {found[PERSON_A]["case_ref"]}
    assert await refs(case_ref="AJ-150102-2026-999999") == set()
    assert await refs(person_name="张建国") == {found[PERSON_A]["case_ref"]}
    assert await refs(person_name="张建") == set()  # exact by default
    assert await refs(person_name="张建", person_name_match="prefix") == {
        found[PERSON_A]["case_ref"],
        found[PERSON_B]["case_ref"],
    }
    # A name's % and _ are matched as themselves, not as wildcards.
    assert await refs(person_name="%", person_name_match="prefix") == set()
    assert await refs(person_name="_建", person_name_match="prefix") == set()
    # Filters combine; a malformed number is a 422.
    assert await refs(person_name="张", person_name_match="prefix", region_code="150200") == set()
    malformed = await cases.get(CASES, params={"case_ref": "150102-1"})
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["query", "case_ref"]
    # A misspelt or unknown filter is refused, never silently answered with everything.
    for params in ({"case_reff": "x"}, {"name": "张建国"}, {"unit_name": "呼和浩特华建建设有限公司"}):
        response = await cases.get(CASES, params=params)
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]
    for path in (COMPLAINTS, "/api/v1/campaigns", f"{CASES}/attendance-checks", "/api/v1/reports/campaigns/IM-2024"):
        assert (await cases.get(path, params={"region": "150000"})).status_code == 422, path
