"""Printable documents end to end: each generated as PDF at the stage it belongs to, numbered once per case and
document, in sequence per issuing authority and year; the text of the PDF (extracted) carries the number,
the person (masked ID) and the decision."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import asyncpg
import pytest
from case_helpers import CASES, PERSON_A, PERSON_B, case_of, finding, officer, step, walk_to_decision
from pypdf import PdfReader

from case_svc.campaigns.presets import PRESETS
from case_svc.campaigns.schemas import CampaignIn
from case_svc.cases.service import today
from case_svc.documents.service import default_prefix, prefix_of
from devtools.testing import caller_headers

NAME = "测试人员"
MASKED_ID = "150102**********34"


def text_of(pdf: bytes) -> str:
    """The PDF's text, without the spaces and NULs pypdf puts between the glyphs of a CID-keyed CJK font
    (poppler's pdftotext reads the same files clean)."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


async def document(
    cases, case_id: str, kind: str, *, by: str = "county", params: dict | None = None, method: str = "POST"
) -> tuple[str, str]:
    """Issues the document (POST; a GET reprints one issued) and reads its number and text."""
    response = await cases.request(method, f"{CASES}/{case_id}/documents/{kind}", params=params, headers=officer(by))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF-")
    assert response.headers["content-disposition"].startswith("inline; ")
    return unquote(response.headers["x-document-number"]), text_of(response.content)


async def offered(cases, case_id: str) -> set[str]:
    """The documents the case says can be generated now."""
    found = (await cases.get(f"{CASES}/{case_id}")).json()["documents"]
    assert all((d["reason"] is None) == d["available"] for d in found)
    return {d["kind"] for d in found if d["available"]}


def test_a_bureau_s_prefix_is_the_campaign_s_or_its_region_s() -> None:
    assert default_prefix("150100") == "呼住建稽" and default_prefix("150102") == "新住建稽"
    assert default_prefix("230000") == "黑住建稽"
    configured = CampaignIn.model_validate(PRESETS["IM-2024"] | {"document_prefixes": {"150100": "呼建稽"}})
    assert prefix_of(configured, "150100") == "呼建稽" and prefix_of(configured, "150102") == "新住建稽"
    with pytest.raises(ValueError, match="代字"):
        CampaignIn.model_validate(PRESETS["IM-2024"] | {"document_prefixes": {"150100": "呼〔建〕"}})


async def test_documents_at_their_stages_with_numbers_issued_once_in_sequence(cases, bus, case_db) -> None:
    await bus.publish(finding(PERSON_A, name=NAME), finding(PERSON_B))
    case = await case_of(cases, PERSON_A)
    other = await case_of(cases, PERSON_B)
    case_id, year = case["case_id"], today().year
    # Nothing before its stage; the case says so, in the route's own words (one rule).
    listed = {d["kind"]: d for d in (await cases.get(f"{CASES}/{case_id}")).json()["documents"]}
    assert list(listed) == ["notice", "intended-decision", "decision", "proof-of-service"]
    for kind in ("notice", "intended-decision", "decision", "proof-of-service"):
        early = await cases.post(f"{CASES}/{case_id}/documents/{kind}", headers=officer("county"))
        assert early.status_code == 409, kind
        assert early.json()["detail"][0]["type"] == "document_not_at_this_stage"
        assert listed[kind]["available"] is False and listed[kind]["reason"] == early.json()["detail"][0]["msg"]
    # 核查通知: the county bureau's, numbered with its 代字.
    noticed = await step(cases, case_id, "notice", {})
    assert await offered(cases, case_id) == {"notice"}  # the answer of the step says so already:
    assert [d["kind"] for d in noticed["documents"] if d["available"]] == ["notice"]
    # A read issues nothing: it reprints an issued document only (a link followed twice numbers nothing).
    unissued = await cases.get(f"{CASES}/{case_id}/documents/notice", headers=officer("county"))
    assert unissued.status_code == 409 and unissued.json()["detail"][0]["type"] == "document_not_issued"
    assert (await cases.get(f"{CASES}/{case_id}/documents")).json()["items"] == []
    number, text = await document(cases, case_id, "notice")
    assert await offered(cases, case_id) == {"notice", "proof-of-service"}  # of the notice, now issued
    assert number == f"新住建稽〔{year}〕1号"
    reply_due = (await cases.get(f"{CASES}/{case_id}")).json()["reply_due"]
    for expected in (
        number,
        "核查通知书",
        NAME,
        MASKED_ID,
        "呼和浩特市新城区住房和城乡建设局",
        reply_due,
        "15个工作日",
    ):
        assert expected in text, expected
    assert (await document(cases, case_id, "notice"))[0] == number  # issued once
    assert (await document(cases, case_id, "notice", method="GET"))[0] == number  # and reprinted as it is
    await step(cases, other["case_id"], "notice", {})
    assert (await document(cases, other["case_id"], "notice"))[0] == f"新住建稽〔{year}〕2号"  # the next one
    # 告知书 once the case awaits the decision; the deciding authority's (the province).
    assert (
        await cases.post(f"{CASES}/{case_id}/documents/intended-decision", headers=officer("province"))
    ).status_code == 409
    await step(cases, case_id, "answer", {"kind": "insurance_now_matches", "evidence_refs": ["社保证明"]})
    await step(cases, case_id, "county-review", {"opinion": "属实", "proposed_outcome": "confirmed"})
    await step(cases, case_id, "city-review", {"opinion": "同意"})
    assert await offered(cases, case_id) == {"notice", "intended-decision", "proof-of-service"}
    intended, text = await document(cases, case_id, "intended-decision", by="province")
    assert intended == f"内住建稽〔{year}〕1号"
    assert all(s in text for s in (intended, "行政处理事先告知书", NAME, MASKED_ID, "陈述和申辩", "蒙215000001"))
    assert (await cases.post(f"{CASES}/{case_id}/documents/decision", headers=officer("province"))).status_code == 409
    # 处理决定书 once decided: the person, the unit, the facts, the decision and its sanctions.
    await step(cases, case_id, "decision", {"outcome": "confirmed", "reason": "认定挂证", "fine": "5000"})
    assert await offered(cases, case_id) == {"notice", "intended-decision", "decision", "proof-of-service"}
    decided, text = await document(cases, case_id, "decision", by="province")
    assert decided == f"内住建稽〔{year}〕2号"
    for expected in (
        decided, "处理决定书", NAME, MASKED_ID, "呼和浩特华建建设有限公司", "91150100MA0000001X", "认定存在“挂证”违法违规行为",
        "撤销你的二级注册建造师注册", "蒙215000001", "罚款人民币5000元", "行政复议", "内蒙古自治区住房和城乡建设厅",
    ):  # fmt: skip
        assert expected in text, expected
    assert "150102198" not in text and "2024-09社会保险缴纳单位为包头某劳务有限公司" in text
    # 送达回证 of the decision (the latest issued), and of the notice when asked.
    proof, text = await document(cases, case_id, "proof-of-service", by="province")
    assert proof == f"内住建稽〔{year}〕3号" and decided in text and "送达回证" in text and NAME in text
    notice_proof, text = await document(cases, case_id, "proof-of-service", params={"of": "notice"})
    assert notice_proof == f"新住建稽〔{year}〕3号" and number in text
    listed = (await cases.get(f"{CASES}/{case_id}/documents")).json()["items"]
    assert [(d["document"], d["number"]) for d in listed] == [
        ("notice", number),
        ("intended-decision", intended),
        ("decision", decided),
        ("proof-of-service:decision", proof),
        ("proof-of-service:notice", notice_proof),
    ]
    # The dashboard reads no document; numbers are never changed.
    dashboard = caller_headers(regions=["150000"], role="dashboard", actor="d")
    assert (await cases.post(f"{CASES}/{case_id}/documents/decision", headers=dashboard)).status_code == 403
    assert (await cases.get(f"{CASES}/{case_id}", headers=dashboard)).json()["documents"] == []
    pg = await asyncpg.connect(case_db)
    try:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await pg.execute("UPDATE document_numbers SET number = 'x'")
    finally:
        await pg.close()


async def test_a_not_guazheng_decision_says_so(cases, bus) -> None:
    await bus.publish(finding(PERSON_A, name=NAME))
    case = await case_of(cases)
    await walk_to_decision(cases, case["case_id"])
    await step(
        cases, case["case_id"], "decision",
        {"outcome": "not_guazheng", "not_guazheng_reason": "data_error", "reason": "经核实系数据差错"},
    )  # fmt: skip
    assert await offered(cases, case["case_id"]) == {"notice", "decision"}  # no 告知书: not confirmed
    _, text = await document(cases, case["case_id"], "decision", by="province")
    assert "不认定为“挂证”（系数据差错）" in text and "经核实系数据差错" in text and "撤销" not in text
    assert (
        await cases.post(f"{CASES}/{case['case_id']}/documents/intended-decision", headers=officer("province"))
    ).status_code == 409
