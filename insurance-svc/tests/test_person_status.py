"""insurance-svc person statuses (退休, 提前退休, 买断社保): NDJSON and JSON-array uploads, events, the person view, retraction.

Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from devtools.feeds import (
    JSON,
    NDJSON,
    assert_no_id_numbers,
    broken_checksum,
    db_value,
    event_payloads,
    person_key,
    published,
    table_digest,
    tolerate_bad_rows,
)
from devtools.synthetic import generate_province
from devtools.testing import TopicTail
from domain.records import RecordKind
from kernel.events import PersonStatusRecordedV1
from kernel.privacy import mask_id_number

API = "/api/v1/insurance"
TOPIC = PersonStatusRecordedV1.topic


def people(count: int) -> list[tuple[str, str]]:
    """(id_number, name) of `count` distinct synthetic people."""
    seen: dict[str, str] = {}
    for row in generate_province(people=count + 10, seed=21, with_payments=False).registrations:
        seen.setdefault(row["id_number"], row["name"])
    found = list(seen.items())
    with_x = next(i for i, (id_number, _) in enumerate(found) if id_number.endswith("X"))
    found.insert(3, found.pop(with_x))  # the fourth person's ID ends in X
    assert len(found) >= count
    return found[:count]


def payloads_by_person(records: list) -> dict[str, PersonStatusRecordedV1]:
    return event_payloads(records, PersonStatusRecordedV1)


def statuses(items: list[Any]) -> list[tuple[str, str | None]]:
    out = []
    for item in items:
        status = item if isinstance(item, dict) else item.model_dump(mode="json")
        out.append((status["status"], status["since"]))
    return out


async def test_statuses_by_ndjson_and_json_array_with_retraction(insurance, insurance_db, infra):
    await tolerate_bad_rows(insurance, API, RecordKind.person_statuses)  # 2 bad records in 7
    p = people(8)
    ids = {i for i, _ in p}
    assert p[3][0].endswith("X")
    bad_id = broken_checksum(p[7][0])
    # NDJSON with Chinese keys and labels; row 6 has an unknown status, row 7 a broken ID checksum.
    ndjson_rows = [
        {"身份证号": p[0][0], "姓名": p[0][1], "状态": "退休", "起始日期": "2021-10-31"},
        {"身份证号": p[1][0], "姓名": p[1][1], "人员状态": "提前退休", "退休日期": "2022/03/15"},
        {"身份证号": p[2][0], "姓名": p[2][1], "状态": "买断社保", "起始日期": "2001-06-05"},
        {"身份证号": p[3][0].lower(), "姓名": p[3][1], "状态": "退休"},  # no since; a lowercase x is fine
        {"id_number": p[4][0], "name": p[4][1], "status": "retired", "since": "2020-01-01"},
        {"身份证号": p[5][0], "姓名": p[5][1], "状态": "死亡", "起始日期": "2020-01-01"},
        {"身份证号": bad_id, "姓名": p[7][1], "状态": "退休", "起始日期": "2020-01-01"},
    ]
    ndjson = b"\n".join(orjson.dumps(row) for row in ndjson_rows) + b"\n"
    # A JSON array with English codes; item 4 has an impossible date.
    array = [
        {"id_number": p[4][0], "name": p[4][1], "status": "bought_out", "since": "2003-05-01"},
        {"id_number": p[5][0], "name": p[5][1], "status": "early_retired", "since": "2023-07-01"},
        {"id_number": p[6][0], "name": p[6][1], "status": "retired", "since": "2019-12-31"},
        {"id_number": p[7][0], "name": p[7][1], "status": "retired", "since": "2024-02-30"},
    ]
    first_expected = {
        person_key(p[0][0]): [("retired", "2021-10-31")],
        person_key(p[1][0]): [("early_retired", "2022-03-15")],
        person_key(p[2][0]): [("bought_out", "2001-06-05")],
        person_key(p[3][0]): [("retired", None)],
        person_key(p[4][0]): [("retired", "2020-01-01")],
    }
    second_expected = {
        person_key(p[4][0]): [("bought_out", "2003-05-01"), ("retired", "2020-01-01")],
        person_key(p[5][0]): [("early_retired", "2023-07-01")],
        person_key(p[6][0]): [("retired", "2019-12-31")],
    }

    async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
        response = await insurance.post(f"{API}/person_statuses", content=ndjson, headers=NDJSON)
        assert response.status_code == 201, response.text
        first = response.json()
        assert first["feed"] == "person_statuses"
        assert (first["received"], first["accepted"], first["rejected"], first["changed"]) == (7, 5, 2, 5)
        assert [(e["row"], e["field"], e["code"]) for e in first["errors"]] == [
            (6, "status", "invalid_choice"),
            (7, "id_number", "checksum"),
        ]
        assert_no_id_numbers(ids | {bad_id}, texts=[response.text])
        payloads = payloads_by_person(await published(tail, insurance_db.url, exactly=5))
        assert {k: statuses(v.statuses) for k, v in payloads.items()} == first_expected
        assert all(s.batch_id == first["batch_id"] for v in payloads.values() for s in v.statuses)
        assert payloads[person_key(p[0][0])].masked_id == mask_id_number(p[0][0])
        assert payloads[person_key(p[0][0])].name == p[0][1]

        response = await insurance.post(f"{API}/person_statuses", content=orjson.dumps(array), headers=JSON)
        assert response.status_code == 201, response.text
        second = response.json()
        assert (second["received"], second["accepted"], second["rejected"], second["changed"]) == (4, 3, 1, 3)
        assert [(e["row"], e["field"], e["code"]) for e in second["errors"]] == [(4, "since", "invalid_date")]
        payloads = payloads_by_person(await published(tail, insurance_db.url, exactly=3))
        assert {k: statuses(v.statuses) for k, v in payloads.items()} == second_expected

        # The person view states the same.
        current = {**first_expected, **second_expected}
        for person_ref, expected in current.items():
            view = await insurance.get(f"{API}/persons/{person_ref}/person_statuses")
            assert view.status_code == 200 and view.json()["next_cursor"] is None
            assert statuses(view.json()["items"]) == expected
        assert (await insurance.get(f"{API}/persons/{person_key(p[7][0])}/person_statuses")).status_code == 404
        assert (await insurance.get(f"{API}/persons/{person_key(p[0][0])}/contributions")).json() == {
            "items": [],
            "next_cursor": None,
        }

        # Retracting the NDJSON batch: its people are published again without its statuses.
        retracted = await insurance.post(f"{API}/batches/{first['batch_id']}/retract")
        assert retracted.status_code == 200, retracted.text
        assert (retracted.json()["rows_retracted"], retracted.json()["already_retracted"]) == (5, False)
        assert retracted.json()["receipt"]["status"] == "retracted"
        payloads = payloads_by_person(await published(tail, insurance_db.url, exactly=5))
        after: dict[str, list] = {k: [] for k in first_expected} | {person_key(p[4][0]): [("bought_out", "2003-05-01")]}
        assert {k: statuses(v.statuses) for k, v in payloads.items()} == after
        for person_ref, expected in (after | {person_key(p[5][0]): second_expected[person_key(p[5][0])]}).items():
            view = await insurance.get(f"{API}/persons/{person_ref}/person_statuses")
            assert statuses(view.json()["items"]) == expected

        stored = await table_digest(insurance_db.url, "person_statuses")
        again = await insurance.post(f"{API}/batches/{first['batch_id']}/retract")
        assert (again.json()["rows_retracted"], again.json()["already_retracted"]) == (0, True)
        await published(tail, insurance_db.url, exactly=0)
        assert await table_digest(insurance_db.url, "person_statuses") == stored
    assert await db_value(insurance_db.url, "SELECT count(*) FROM person_statuses WHERE retracted_at IS NULL") == 3
    assert (
        await db_value(insurance_db.url, "SELECT count(*) FROM person_statuses WHERE since = $1", date(2022, 3, 15))
        == 1
    )


async def test_a_status_since_an_implausible_date_is_a_row_error(insurance, insurance_db):
    await tolerate_bad_rows(insurance, API, RecordKind.person_statuses)  # 2 bad rows in 3
    p = people(3)
    implausible = ("1999-12-31", "9999-12-31")  # before the campaign's range, and long after next month
    rows = [{"id_number": p[0][0], "name": p[0][1], "status": "retired", "since": "2000-01-01"}]
    rows += [
        {"id_number": id_number, "name": name, "status": "retired", "since": since}
        for (id_number, name), since in zip(p[1:], implausible, strict=True)
    ]
    response = await insurance.post(f"{API}/person_statuses", content=orjson.dumps(rows), headers=JSON)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["accepted"], receipt["rejected"]) == (1, 2)
    assert [(e["row"], e["field"], e["code"]) for e in receipt["errors"]] == [
        (2, "since", "implausible_date"),
        (3, "since", "implausible_date"),
    ]
    assert not any(since in response.text for since in implausible)
    assert await db_value(insurance_db.url, "SELECT count(*) FROM person_statuses") == 1
