"""Check requests (核查) as the campaigns prescribe them: a city's registered people issued to its 社保 centre,
downloaded in the centre's format, answered by an upload that names the request (or not at all), and the
reminder list of the centres that have not answered by the due date."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta

import httpx
import orjson
import pytest
from openpyxl import load_workbook

from devtools.embedded import free_port
from devtools.feeds import JSON
from devtools.synthetic import generate_province
from devtools.testing import caller_headers, serving
from insurance_svc.main import create_app as insurance_app
from insurance_svc.main import service as insurance_service
from registry_svc import check_requests
from registry_svc.main import create_app as registry_app
from registry_svc.main import service as registry_service

API = "/api/v1/registry/check-requests"
INSURANCE = "/api/v1/insurance"
HOHHOT, BAOTOU = "150100", "150200"


def officer(region: str = HOHHOT, role: str = "city_officer") -> dict[str, str]:
    return caller_headers(regions=[region], role=role, actor=f"officer-{region}")


def centre(role: str = "insurance_feed", region: str = HOHHOT) -> dict[str, str]:
    return caller_headers(regions=[region], role=role, actor=f"{role}-{region}")


def _province() -> tuple[list[dict], list[dict], list[dict]]:
    """Units, registrations (Hohhot's 新城区 and Baotou's 东河区, one cancelled) and their contributions."""
    province = generate_province(people=24, seed=14, review_month="2024-10")
    registrations = [dict(r, region_code=("150102", "150202")[i % 2]) for i, r in enumerate(province.registrations)]
    registrations[0]["status"] = "cancelled"
    return [dict(u, former_names=[]) for u in province.units], registrations, province.contributions


UNITS, REGISTRATIONS, CONTRIBUTIONS = _province()


def active_ids(region_prefix: str) -> set[str]:
    return {
        r["id_number"] for r in REGISTRATIONS if r["region_code"].startswith(region_prefix) and r["status"] == "active"
    }


@asynccontextmanager
async def suite(registry_db, insurance_db, infra) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """registry-svc and insurance-svc over real HTTP, each knowing where the other is."""
    ports = {"registry": free_port(), "insurance": free_port()}
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    urls["fund_url"] = f"http://127.0.0.1:{free_port()}"  # fund-svc is down
    async with AsyncExitStack() as stack:
        registry = await stack.enter_async_context(
            serving(registry_app(registry_db.settings(infra, **urls)), ports["registry"])
        )
        insurance = await stack.enter_async_context(
            serving(insurance_app(insurance_db.settings(infra, **urls)), ports["insurance"])
        )
        for path, rows in (("units", UNITS), ("registrations", REGISTRATIONS)):
            loaded = await registry.post(f"/api/v1/registry/{path}", content=orjson.dumps(rows), headers=JSON)
            assert loaded.status_code == 201 and loaded.json()["rejected"] == 0, loaded.text
        yield registry, insurance


@pytest.fixture
def insurance_db(service_database):
    return service_database(insurance_service)


@pytest.fixture
def registry_db(service_database):
    return service_database(registry_service)


async def test_a_request_answered_and_one_left_unanswered(registry_db, insurance_db, infra, monkeypatch) -> None:
    async with suite(registry_db, insurance_db, infra) as (registry, insurance):
        hohhot = await registry.post(API, json={"region_code": HOHHOT, "centre": "insurance"}, headers=officer())
        assert hohhot.status_code == 201, hohhot.text
        issued = hohhot.json()
        ref = issued["request_ref"]
        assert ref.startswith(f"HC-{HOHHOT}-") and ref.endswith("-000001")
        assert issued["issued_by"] == f"officer-{HOHHOT}" and issued["status"] == "issued"
        assert issued["people"] == len(active_ids("1501")) and issued["region_name"] == "内蒙古自治区呼和浩特市"
        # Another city is not the officer's to issue; a province is no city.
        refused = await registry.post(API, json={"region_code": BAOTOU, "centre": "insurance"}, headers=officer())
        assert refused.status_code == 403
        province = await registry.post(API, json={"region_code": "150000", "centre": "fund"}, headers=officer("150000"))
        assert province.status_code == 422
        baotou = await registry.post(
            API, json={"region_code": BAOTOU, "centre": "insurance"}, headers=officer("150000", "province_admin")
        )
        assert baotou.status_code == 201
        baotou_ref = baotou.json()["request_ref"]
        assert baotou_ref.startswith(f"HC-{BAOTOU}-")

        # The centre downloads its list: ID number and name only, in its system's column names.
        download = await registry.get(f"{API}/{ref}/download", headers=centre())
        assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
        assert download.content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert rows[0] == ["AAC002", "AAC003"] and all(len(row) == 2 for row in rows)
        assert {row[0] for row in rows[1:]} == active_ids("1501")
        workbook = await registry.get(
            f"{API}/{ref}/download", params={"format": "xlsx", "columns": "chinese"}, headers=officer()
        )
        sheet = load_workbook(io.BytesIO(workbook.content)).active
        assert sheet is not None
        cells = list(sheet.iter_rows(values_only=True))
        assert cells[0] == ("公民身份号码", "姓名") and {c[0] for c in cells[1:]} == active_ids("1501")
        # Another centre, or another city's centre, does not see it.
        for stranger in (centre("fund_feed"), centre(region=BAOTOU)):
            assert (await registry.get(f"{API}/{ref}/download", headers=stranger)).status_code == 404
            assert (await registry.get(f"{API}/{ref}", headers=stranger)).status_code == 404
        assert (await registry.get(f"{API}/{ref}", headers=officer())).json()["status"] == "downloaded"

        # The centre answers: its Hohhot people's contributions, naming the request.
        listed = active_ids("1501")
        answer = [dict(c, region_code="150102") for c in CONTRIBUTIONS if c["id_number"] in listed]
        answered_people = {c["id_number"] for c in answer}
        assert answered_people
        sent = await insurance.post(
            f"{INSURANCE}/contributions",
            params={"check_request": ref},
            content=orjson.dumps(answer),
            headers={**JSON, **centre()},
        )
        assert sent.status_code == 201 and sent.json()["rejected"] == 0, sent.text
        unknown = await insurance.post(
            f"{INSURANCE}/contributions",
            params={"check_request": f"HC-{HOHHOT}-2024-999999"},
            content=orjson.dumps(answer),
            headers={**JSON, **centre()},
        )
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["query", "check_request"]

        status = (await registry.get(f"{API}/{ref}", headers=officer())).json()
        assert status["status"] == "answered" and status["answered_people"] == len(answered_people)
        assert status["first_answered_at"] is not None and not status["overdue"]
        listed_page = (await registry.get(API, params={"region_code": "150000"}, headers=officer("150000"))).json()
        assert [(r["request_ref"], r["status"]) for r in listed_page["items"]] == [
            (ref, "answered"),
            (baotou_ref, "issued"),
        ]
        assert (await registry.get(API, headers=officer())).json()["items"][0]["request_ref"] == ref

        # Once the due dates have passed, the reminder list names the centre that has not answered.
        assert (await registry.get(f"{API}/reminders", headers=officer("150000"))).json()["items"] == []
        later = date.fromisoformat(issued["due_on"]) + timedelta(days=1)
        monkeypatch.setattr(check_requests, "today", lambda: later)
        reminders = (await registry.get(f"{API}/reminders", headers=officer("150000"))).json()
        assert [(r["request_ref"], r["overdue"]) for r in reminders["items"]] == [(baotou_ref, True)]
        assert (await registry.get(f"{API}/reminders", headers=officer())).json()["items"] == []

        # A retracted answer answers nothing.
        retracted = await insurance.post(f"{INSURANCE}/batches/{sent.json()['batch_id']}/retract")
        assert retracted.status_code == 200
        status = (await registry.get(f"{API}/{ref}", headers=officer())).json()
        assert (status["status"], status["answered_people"], status["overdue"]) == ("downloaded", 0, True)

        # Issuing needs no centre; a status needs the centre's service, and says so when it cannot be asked.
        fund = await registry.post(API, json={"region_code": HOHHOT, "centre": "fund"}, headers=officer())
        assert fund.status_code == 201
        unknown_answers = await registry.get(f"{API}/{fund.json()['request_ref']}", headers=officer())
        assert unknown_answers.status_code == 503 and "fund-svc" in unknown_answers.json()["detail"][0]["msg"]
        nobody = await registry.post(API, json={"region_code": "150300", "centre": "fund"}, headers=officer("150000"))
        assert nobody.status_code == 422  # 乌海: nobody is registered there
