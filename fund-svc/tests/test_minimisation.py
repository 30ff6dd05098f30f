"""Data minimisation at the 公积金 centre: a deposit row is kept only for a person on a check request issued to
the fund centre; a request to the 社保 centre admits nothing here."""

from __future__ import annotations

import orjson
import pytest

from devtools.embedded import free_port
from devtools.feeds import JSON
from devtools.synthetic import generate_province
from devtools.testing import caller_headers, running, serving
from fund_svc.main import create_app
from registry_svc.main import create_app as registry_app
from registry_svc.main import service as registry_service

API = "/api/v1/fund"


@pytest.fixture
def registry_db(service_database):
    return service_database(registry_service)


async def test_only_a_request_to_the_fund_centre_admits_deposits(fund_db, registry_db, infra) -> None:
    province = generate_province(people=12, seed=23, review_month="2024-10")
    depositors = {d["id_number"] for d in province.deposits}
    person = next(r for r in province.registrations if r["id_number"] in depositors)
    deposits = [dict(d, region_code="150105") for d in province.deposits if d["id_number"] == person["id_number"]]
    registry_port = free_port()
    settings = {"registry_url": f"http://127.0.0.1:{registry_port}", "data_minimisation": True}
    hohhot = caller_headers(regions=["150100"])
    async with (
        serving(registry_app(registry_db.settings(infra)), registry_port) as registry,
        running(create_app(fund_db.settings(infra, **settings))) as fund,
    ):
        registration = dict(person, region_code="150102", status="active")
        loaded = await registry.post(
            "/api/v1/registry/registrations", content=orjson.dumps([registration]), headers=JSON
        )
        assert loaded.status_code == 201
        issue = {"region_code": "150100", "centre": "insurance"}
        assert (await registry.post("/api/v1/registry/check-requests", json=issue, headers=hohhot)).status_code == 201

        refused = (await fund.post(f"{API}/deposits", content=orjson.dumps(deposits), headers=JSON)).json()
        assert refused["status"] == "rejected" and {e["code"] for e in refused["errors"]} == {"not_requested"}

        issue["centre"] = "fund"
        assert (await registry.post("/api/v1/registry/check-requests", json=issue, headers=hohhot)).status_code == 201
        kept = (await fund.post(f"{API}/deposits", content=orjson.dumps(deposits), headers=JSON)).json()
        assert (kept["accepted"], kept["rejected"]) == (len(deposits), 0)
