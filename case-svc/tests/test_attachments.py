"""Attachments end to end: evidence uploaded with its hash, read back byte for byte with the hash in a header,
only the kinds of file kept (read from the content), a size limit, names that cannot break the download's
header, never altered or deleted (the database refuses), and an answer that rests on them."""

from __future__ import annotations

import hashlib
import io
import zipfile
from urllib.parse import quote

import asyncpg
import pytest
from case_helpers import CASES, PERSON_A, case_of, finding, officer, step, timeline

from case_svc.attachments import sniff
from case_svc.downloads import content_disposition, uploaded_name
from case_svc.main import create_app
from devtools.testing import caller_headers, running

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def office(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr(part, "<x/>")
    return buffer.getvalue()


def test_the_content_says_what_a_file_is() -> None:
    assert sniff.media_type(PDF) == sniff.PDF
    assert sniff.media_type(b"\xff\xd8\xff\xe0" + b"\x00" * 16) == sniff.JPEG
    assert sniff.media_type(PNG) == sniff.PNG
    assert sniff.media_type(office("word/document.xml")) == sniff.DOCX
    assert sniff.media_type(office("xl/workbook.xml")) == sniff.XLSX
    assert sniff.media_type("情况说明：本人已办理注销。\r\n".encode()) == sniff.TEXT_UTF8
    assert sniff.media_type("情况说明".encode("gb18030")) == sniff.TEXT_GB18030
    # Not kept: an executable, a zip that is no Office file, a legacy .doc, text with control characters.
    for content in (b"MZ\x90\x00\x03", office("payload.bin"), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"a\x00b\x01"):
        assert sniff.media_type(content) is None, content[:8]


def test_no_file_name_breaks_or_forges_the_download_header() -> None:
    name = uploaded_name('..\\..\\etc/约谈笔录"; filename=evil.exe\r\nX-Injected: 1\x00.pdf')
    assert name == '约谈笔录"; filename=evil.exeX-Injected: 1.pdf'
    disposition = content_disposition(name)
    assert "\r" not in disposition and "\n" not in disposition and disposition.count('"') == 2
    assert disposition.startswith('attachment; filename="filename_evil.exeX-Injected_1.pdf"; ')
    assert disposition.endswith("filename*=UTF-8''" + quote(name, safe=""))
    assert content_disposition("照片.png", fallback="attachment-2").startswith(
        'attachment; filename="attachment-2.png"'
    )
    assert uploaded_name(None) == uploaded_name("C:\\") == "attachment"


def upload(kind: str, name: str, content: bytes, note: str | None = None) -> dict:
    data = {"kind": kind} | ({"note": note} if note else {})
    return {"data": data, "files": {"file": (name, content, "application/octet-stream")}}


async def test_evidence_is_kept_with_its_hash_and_read_back_as_it_was(cases, bus, case_db) -> None:
    await bus.publish(finding(PERSON_A))
    case = await case_of(cases)
    path = f"{CASES}/{case['case_ref']}/attachments"
    name = "约谈笔录 (张).pdf"
    created = await cases.post(
        path, **upload("约谈笔录", f"C:\\材料\\{name}", PDF, "11月10日约谈"), headers=officer("county")
    )
    assert created.status_code == 201, created.text
    record = created.json()
    assert (record["number"], record["kind"], record["content_type"], record["size"]) == (
        1,
        "约谈笔录",
        "application/pdf",
        len(PDF),
    )
    assert record["sha256"] == hashlib.sha256(PDF).hexdigest() and record["uploaded_by"] == "officer-xincheng-01"
    assert record["filename"] == name  # the uploader's path left out
    photo = await cases.post(path, **upload("照片", "现场.png", PNG), headers=officer("city"))
    assert photo.status_code == 201 and photo.json()["number"] == 2
    listed = (await cases.get(path)).json()
    assert [a["number"] for a in listed["items"]] == [1, 2] and listed["next_cursor"] is None
    # Downloaded byte for byte, the hash in the headers, the name unable to break out of its header.
    download = await cases.get(f"{path}/1", headers=officer("county"))
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-sha256"] == record["sha256"]
    assert download.headers["x-person-ref"] == PERSON_A  # whose data it is, for the gateway's access log
    assert (
        download.headers["repr-digest"].startswith("sha-256=:")
        and download.headers["x-content-type-options"] == "nosniff"
    )
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"attachment-1.pdf\"; filename*=UTF-8''%E7%BA%A6%E8%B0%88%E7%AC%94%E5%BD%95%20%28%E5%BC%A0%29.pdf"
    )
    assert (await cases.get(f"{path}/3")).status_code == 404
    # On the timeline; the dashboard reads none of it.
    entry = next(e for e in await timeline(cases, case["case_id"]) if e["action"] == "attach")
    assert entry["after"]["sha256"] == record["sha256"] and entry["reason"] == "11月10日约谈"
    dashboard = caller_headers(regions=["150000"], role="dashboard", actor="d")
    assert (await cases.get(path, headers=dashboard)).status_code == 403
    assert (await cases.get(f"{path}/1", headers=dashboard)).status_code == 403
    # Never altered or deleted: the database refuses, whoever asks.
    pg = await asyncpg.connect(case_db)
    try:
        for statement in (
            "UPDATE case_attachments SET filename = 'x'",
            "DELETE FROM case_attachments",
            "TRUNCATE case_attachments",
        ):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await pg.execute(statement)
        assert await pg.fetchval("SELECT count(*) FROM case_attachments") == 2
    finally:
        await pg.close()
    # An answer rests on attachments by their numbers, pinning each one's hash.
    await step(cases, case["case_id"], "notice", {})
    missing = await step(
        cases, case["case_id"], "answer", {"kind": "insurance_now_matches", "evidence_attachments": [1, 7]}, expect=422
    )
    assert missing["detail"][0]["loc"] == ["body", "evidence_attachments"] and "7" in missing["detail"][0]["msg"]
    answered = await step(
        cases,
        case["case_id"],
        "answer",
        {"kind": "exemption_claimed", "exemption": "UNIVERSITY_STAFF", "evidence_attachments": [1]},
    )
    assert answered["answer"]["evidence_attachments"] == [{"number": 1, "kind": "约谈笔录", "sha256": record["sha256"]}]


async def test_only_kept_kinds_of_file_within_the_limit_by_an_officer_who_may(case_settings, bus) -> None:
    settings = case_settings.model_copy(update={"attachment_max_bytes": 2048})
    async with running(create_app(settings)) as cases:
        await bus.publish(finding(PERSON_A))
        case = await case_of(cases)
        path = f"{CASES}/{case['case_id']}/attachments"
        county = officer("county")
        refused = await cases.post(path, **upload("其他", "setup.pdf", b"MZ\x90\x00" + b"\x00" * 64), headers=county)
        assert refused.status_code == 415 and refused.json()["detail"][0]["loc"] == ["body", "file"]
        too_large = await cases.post(path, **upload("照片", "big.png", PNG + b"\x00" * 100_000), headers=county)
        assert too_large.status_code == 413 and too_large.json()["detail"][0]["type"] == "too_large"
        assert (await cases.post(path, **upload("照片", "a.png", b""), headers=county)).status_code == 422
        assert (await cases.post(path, **upload("视频", "a.png", PNG), headers=county)).status_code == 422
        assert (await cases.post(path, data={"kind": "照片"}, headers=county)).status_code == 422
        dashboard = caller_headers(regions=["150000"], role="dashboard", actor="d")
        assert (await cases.post(path, **upload("照片", "a.png", PNG), headers=dashboard)).status_code == 403
        elsewhere = caller_headers(regions=["150203"], role="county_officer", actor="e")
        assert (await cases.post(path, **upload("照片", "a.png", PNG), headers=elsewhere)).status_code == 404
        # While another officer holds the case's lock, he adds no evidence either.
        await cases.post(f"{CASES}/{case['case_id']}/take", headers=officer("county", actor="zhang"))
        locked = await cases.post(path, **upload("照片", "a.png", PNG), headers=county)
        assert locked.status_code == 409 and locked.json()["detail"][0]["type"] == "case_locked"
        assert (await cases.get(path)).json()["items"] == []
