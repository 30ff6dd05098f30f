"""Registrations as the construction-market platform exports them (issue 14): one certificate listed once per
specialty is one registration, within a chunk and across chunks; an ID number failing its check character is
refused, or accepted and flagged (person, event) where the client's profile says so; a unit's kind as its legal form.

Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest

from devtools.feeds import CSV, broken_checksum, csv_bytes, db_value, person_key, published, tolerate_bad_rows
from devtools.synthetic import generate_province
from devtools.testing import TopicTail, caller_headers, event_of, wait_outbox_empty
from domain.records import RecordKind
from ingest import pipeline
from kernel.events import RegistrationRecordedV1

API = "/api/v1/registry"
REGISTRATIONS = RecordKind.registrations
TOPIC = RegistrationRecordedV1.topic
CLIENT = "nm-registry-platform"


def _feed_client(actor: str = CLIENT) -> dict[str, str]:
    return caller_headers(regions=["150000"], role="registry_feed", actor=actor, scopes=["feeds:registry"])


def _registrations(count: int) -> list[dict]:
    return [dict(row) for row in generate_province(people=40, seed=23, with_payments=False).registrations[:count]]


async def test_one_certificate_on_several_rows_is_one_registration_across_chunks(
    registry, registry_db, infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)  # the certificate's rows fall in three chunks
    first, second, third = _registrations(3)
    certificate = {**first, "specialty": "建筑工程"}
    rows = [
        certificate,
        {**certificate, "specialty": "机电工程"},  # same chunk: merged before storing
        second,
        third,
        {**certificate, "specialty": "市政公用工程；建筑工程", "seal_no": "NEW-SEAL"},  # a later chunk
    ]
    subject = f"{first['category']}:{first['certificate_no']}"
    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        response = await registry.post(f"{API}/registrations", content=csv_bytes(rows, REGISTRATIONS), headers=CSV)
        assert response.status_code == 201, response.text
        assert (response.json()["accepted"], response.json()["rejected"]) == (5, 0)
        assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 3
        stored = await db_value(
            registry_db.url,
            "SELECT jsonb_build_array(specialty, seal_no)::text FROM registrations WHERE certificate_no = $1",
            first["certificate_no"],
        )
        # Every specialty once, in the file's order; anything else as the last row says.
        assert orjson.loads(stored) == ["建筑工程;机电工程;市政公用工程", "NEW-SEAL"]
        events = {
            event_of(r)["subject"]: event_of(r)["data"] for r in await published(tail, registry_db.url, exactly=3)
        }
        assert events[subject]["specialty"] == "建筑工程;机电工程;市政公用工程"
        assert events[subject]["specialties"] == ["建筑工程", "机电工程", "市政公用工程"]
        assert events[f"{second['category']}:{second['certificate_no']}"]["specialties"] == [second["specialty"]]

        # A later upload states the certificate anew: its specialties are those it lists.
        again = [{**certificate, "specialty": "公路工程", "seal_no": "NEW-SEAL"}]
        response = await registry.post(f"{API}/registrations", content=csv_bytes(again, REGISTRATIONS), headers=CSV)
        assert response.json()["changed"] == 1
        (event,) = await published(tail, registry_db.url, exactly=1)
        assert event_of(event)["data"]["specialties"] == ["公路工程"]


async def test_an_id_number_failing_its_check_is_refused_or_flagged_as_the_profile_says(
    registry, registry_db, infra
) -> None:
    rows = _registrations(20)
    rows[3]["id_number"] = broken_checksum(rows[3]["id_number"])  # row 4
    doubtful = person_key(rows[3]["id_number"])
    body = csv_bytes(rows, REGISTRATIONS)
    upload = _feed_client() | CSV

    refused = (await registry.post(f"{API}/registrations", content=body, headers=upload)).json()
    assert refused["accepted"] == 19
    assert [(e["row"], e["field"], e["code"]) for e in refused["errors"]] == [(4, "id_number", "checksum")]
    assert await db_value(registry_db.url, "SELECT count(*) FROM persons WHERE person_key = $1", doubtful) == 0

    profile = f"{API}/feeds/registrations/profiles/{CLIENT}"
    admin = caller_headers(regions=["150000"], role="province_admin", actor="nm-admin", scopes=["campaign:admin"])
    set_profile = await registry.put(profile, json={"id_checksum": "accept_and_flag"}, headers=admin)
    assert set_profile.status_code == 200, set_profile.text
    await wait_outbox_empty(registry_db.url)  # the first upload's events are out before the tail starts
    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        accepted = (await registry.post(f"{API}/registrations", content=body, headers=upload)).json()
        assert (accepted["accepted"], accepted["rejected"]) == (20, 0)
        assert [(w["row"], w["field"], w["code"]) for w in accepted["warnings"]] == [
            (4, "id_number", "id_checksum_flagged")
        ]
        assert rows[3]["id_number"] not in orjson.dumps(accepted).decode()
        flagged = await db_value(registry_db.url, "SELECT array_agg(person_key) FROM persons WHERE id_checksum_failed")
        assert flagged == [doubtful]
        events = [event_of(r)["data"] for r in await published(tail, registry_db.url, exactly=1)]
        assert [(e["person_ref"], e["id_checksum_failed"]) for e in events] == [(doubtful, True)]

    # Another client's uploads keep the default: refused.
    again = (await registry.post(f"{API}/registrations", content=body, headers=_feed_client("other") | CSV)).json()
    assert [e["code"] for e in again["errors"]] == ["checksum"]


async def test_units_whose_kind_column_names_their_legal_form(registry, registry_db) -> None:
    """The platforms' 企业类型 column holds the legal form as registered (有限责任公司(自然人投资或控股) …)."""
    units = generate_province(people=10, seed=29, with_payments=False).units[:4]
    forms = ["有限责任公司(自然人投资或控股)", "股份有限公司（上市、国有控股）", "事业单位法人", "私营企业"]
    body = io.StringIO()
    csv.writer(body).writerows(
        [
            ["统一社会信用代码", "企业名称", "企业类型", "行政区划代码"],
            *([u["uscc"], u["name"], form, u["region_code"]] for u, form in zip(units, forms, strict=True)),
        ]
    )
    response = await registry.post(f"{API}/units", content=body.getvalue().encode(), headers=CSV)
    assert response.status_code == 201, response.text
    assert (response.json()["accepted"], response.json()["errors"]) == (4, [])
    stored = orjson.loads(
        await db_value(
            registry_db.url,
            "SELECT jsonb_agg(kind ORDER BY array_position($1::text[], uscc))::text FROM units",
            [u["uscc"] for u in units],
        )
    )
    assert stored == ["enterprise", "enterprise", "public_institution", "enterprise"]


async def test_an_old_excel_xls_upload(registry) -> None:
    """An .xls (Excel 97-2003, the platform fixture of services/platform/tests): read from the sheet asked for."""
    fixture = Path(__file__).parents[2] / "services" / "platform" / "tests" / "fixtures" / "registrations.xls"
    await tolerate_bad_rows(registry, API, REGISTRATIONS)  # one of its two rows is wrong
    response = await registry.post(
        f"{API}/registrations",
        params={"sheet": "明细", "dry_run": "true"},
        content=fixture.read_bytes(),
        headers={"content-type": "application/vnd.ms-excel"},
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["received"], receipt["accepted"], receipt["ignored_columns"]) == (2, 1, ["备注"])
    assert receipt["profile"] == {"client_id": "tests", "version": 1}
    assert [
        (e["row"], e["line"], e["field"], e["code"], e["column"], e["column_number"]) for e in receipt["errors"]
    ] == [(2, 5, "id_number", "id_as_number", "证件号码", 3)]
