"""Data minimisation (DATA_MINIMISATION): the 社保 centre's uploads keep only the rows of people on a check
request issued to it for the row's region; the others are rejected as `not_requested` and nothing of them is
stored — not their months, not the person."""

from __future__ import annotations

import asyncpg
import orjson
import pytest

from devtools.embedded import free_port
from devtools.feeds import JSON, person_key
from devtools.synthetic import generate_province
from devtools.testing import caller_headers, running, serving
from insurance_svc.main import create_app
from registry_svc.main import create_app as registry_app
from registry_svc.main import service as registry_service

API = "/api/v1/insurance"


@pytest.fixture
def registry_db(service_database):
    return service_database(registry_service)


async def test_minimisation_drops_the_rows_of_unrequested_people(insurance_db, registry_db, infra) -> None:
    province = generate_province(people=12, seed=21, review_month="2024-10")
    paid: dict[str, list[dict]] = {}
    for contribution in province.contributions:
        paid.setdefault(contribution["id_number"], []).append(contribution)
    requested, other = [r for r in province.registrations if len(paid.get(r["id_number"], ())) >= 2][:2]
    registrations = [dict(requested, region_code="150102", status="active"), dict(other, region_code="150202")]
    months = {r["id_number"]: paid[r["id_number"]][:2] for r in registrations}
    upload = [
        *(dict(c, region_code="150102") for c in months[requested["id_number"]]),  # on Hohhot's request: kept
        dict(months[requested["id_number"]][0], region_code="150203", period="2024-01"),  # Baotou's row: not requested
        *(dict(c, region_code="150102") for c in months[other["id_number"]]),  # on no request
    ]
    statuses = [{"id_number": p["id_number"], "name": p["name"], "status": "retired"} for p in (requested, other)]

    registry_port = free_port()
    settings = {"registry_url": f"http://127.0.0.1:{registry_port}", "data_minimisation": True}
    async with (
        serving(registry_app(registry_db.settings(infra)), registry_port) as registry,
        running(create_app(insurance_db.settings(infra, **settings))) as insurance,
    ):
        loaded = await registry.post(
            "/api/v1/registry/registrations", content=orjson.dumps(registrations), headers=JSON
        )
        assert loaded.status_code == 201 and loaded.json()["rejected"] == 0, loaded.text
        issued = await registry.post(
            "/api/v1/registry/check-requests",
            json={"region_code": "150100", "centre": "insurance"},
            headers=caller_headers(regions=["150100"]),
        )
        assert issued.status_code == 201 and issued.json()["people"] == 1

        sent = await insurance.post(f"{API}/contributions", content=orjson.dumps(upload), headers=JSON)
        receipt = sent.json()
        assert sent.status_code == 201 and (receipt["accepted"], receipt["rejected"]) == (2, 3), receipt
        assert {(e["row"], e["code"]) for e in receipt["errors"]} == {
            (3, "not_requested"),
            (4, "not_requested"),
            (5, "not_requested"),
        }
        province_wide = caller_headers(regions=["150000"])
        status = await insurance.post(
            f"{API}/person_statuses", content=orjson.dumps(statuses), headers={**JSON, **province_wide}
        )
        assert (status.json()["accepted"], [e["row"] for e in status.json()["errors"]]) == (1, [2])

    pg = await asyncpg.connect(insurance_db.url)
    try:
        stored = {row["person_key"] for row in await pg.fetch("SELECT person_key FROM persons")}
        regions = {row["region_code"] for row in await pg.fetch("SELECT region_code FROM contributions")}
        answers = await pg.fetch("SELECT request_ref, person_key FROM check_answers")
    finally:
        await pg.close()
    assert stored == {person_key(requested["id_number"])} and regions == {"150102"}
    # Without naming it, each upload (contributions, statuses) answered the request its kept rows are on.
    assert len(answers) == 2
    assert {(a["request_ref"], a["person_key"]) for a in answers} == {
        (issued.json()["request_ref"], person_key(requested["id_number"]))
    }


async def test_minimisation_needs_the_registry(insurance_db, infra) -> None:
    """Which people are requested is registry-svc's to say: without it, nothing is judged or stored."""
    settings = {"registry_url": f"http://127.0.0.1:{free_port()}", "data_minimisation": True}
    province = generate_province(people=3, seed=22, review_month="2024-10")
    async with running(create_app(insurance_db.settings(infra, **settings))) as insurance:
        sent = await insurance.post(
            f"{API}/contributions", content=orjson.dumps(province.contributions[:2]), headers=JSON
        )
        assert sent.status_code == 503 and "registry-svc" in sent.json()["detail"][0]["msg"]
        # Off by default: the same upload, without minimisation, never asks.
    async with running(create_app(insurance_db.settings(infra, registry_url=settings["registry_url"]))) as insurance:
        sent = await insurance.post(
            f"{API}/contributions", content=orjson.dumps(province.contributions[:2]), headers=JSON
        )
        assert sent.status_code == 201 and sent.json()["rejected"] == 0
