"""The gateway's side of the public contract (issue 13): unknown query parameters refused on its own routes,
reads of people's data through case reads and lists written to the access log (one entry per person),
proxied answers with one `date` and one `server` header, and a merged OpenAPI document with one list shape,
one error shape and an example for every body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from devtools.embedded import free_port
from devtools.testing import serving
from gateway_svc.main import create_app
from kernel.openapi import missing_examples, shape_violations

ALICE, BOB = "a1" * 13, "b2" * 13
CASE_NUMBER = "AJ-150102-2026-000004"


async def test_an_unknown_query_parameter_of_a_gateway_route_is_422(gateway, token_of) -> None:
    admin = await token_of(gateway, "admin")
    misspelt = await gateway.get("/api/v1/audit/person-access", params={"persn_ref": ALICE}, headers=admin)
    assert misspelt.status_code == 422
    [error] = misspelt.json()["detail"]
    assert error["type"] == "extra_forbidden" and error["loc"] == ["query", "persn_ref"]
    assert ALICE not in misspelt.text  # the value is never echoed
    assert (
        await gateway.get("/api/v1/audit/person-access", params={"person_ref": ALICE}, headers=admin)
    ).status_code == 200
    lookup = await gateway.post("/api/v1/persons/lookup", params={"id_number": "x"}, json={}, headers=admin)
    assert lookup.status_code == 422 and ["query", "id_number"] in [e["loc"] for e in lookup.json()["detail"]]
    # A bad cursor is a 422 like every other invalid parameter.
    bad = await gateway.get("/api/v1/audit/person-access", params={"cursor": "WyJ4Il0"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]


async def accesses(gateway, admin: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = await gateway.get("/api/v1/audit/person-access", params=params, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_case_reads_and_lists_of_people_are_in_the_access_log(gateway_factory, token_of, recorder) -> None:
    case = {"case_id": "0f3a9c4e-2b1d-4e8a-9c7f-1d2e3f4a5b6c", "case_ref": CASE_NUMBER, "person_ref": ALICE}
    recorder.answers[f"/api/v1/cases/{CASE_NUMBER}"] = {**case, "name": "张伟", "masked_id": "150102**********15"}
    recorder.answers["/api/v1/cases"] = {
        "items": [{"person_ref": ALICE}, {"person_ref": BOB}, {"person_ref": ALICE}],
        "next_cursor": None,
    }
    recorder.answers["/api/v1/matcher/findings"] = {
        "items": [{"person_ref": BOB, "rule": "SI_NONE"}],
        "next_cursor": None,
    }
    recorder.answers["/api/v1/cases/attendance-checks"] = {"items": [], "next_cursor": None}
    urls = {"case_url": recorder.url, "matcher_url": recorder.url}
    async with gateway_factory(**urls) as gateway:
        officer, admin = await token_of(gateway, "hohhot"), await token_of(gateway, "admin")
        read = await gateway.get(f"/api/v1/cases/{CASE_NUMBER}", headers={**officer, "X-Request-ID": "case-read-1"})
        assert read.status_code == 200 and read.json()["name"] == "张伟"  # passed on whole
        listed = await gateway.get("/api/v1/cases", params={"status": "open"}, headers=officer)
        assert listed.status_code == 200 and len(listed.json()["items"]) == 3
        found = await gateway.get("/api/v1/matcher/findings", headers=officer)
        assert found.status_code == 200
        absent = await gateway.get("/api/v1/cases/AJ-150102-2026-999999", headers=officer)
        assert absent.status_code == 404 and absent.json()["detail"][0]["type"] == "not_found"
        assert (await gateway.get("/api/v1/cases/attendance-checks", headers=officer)).status_code == 200

        alice = await accesses(gateway, admin, person_ref=ALICE)
        bob = await accesses(gateway, admin, person_ref=BOB)
        everyone = await accesses(gateway, admin, client_id="hohhot")
    assert [(e["route"], e["action"], e["status"], e["role"]) for e in alice] == [
        ("GET /api/v1/cases", "read", 200, "city_officer"),  # once, though the page shows two of her cases
        ("GET /api/v1/cases/{case_id}", "read", 200, "city_officer"),
    ]
    assert alice[1]["request_id"] == "case-read-1" == read.headers["x-request-id"]
    assert [e["route"] for e in bob] == ["GET /api/v1/matcher/findings", "GET /api/v1/cases"]
    # A refused read names nobody; attendance checks show no person: nothing else is written.
    assert len(everyone) == 4


async def test_a_proxied_answer_has_one_date_and_one_server_header(
    gateway_db, infra, client_config, token_of, recorder
) -> None:
    recorder.answers["/api/v1/matcher/progress"] = {"settled": True}
    settings = gateway_db.settings(infra, gateway_clients=client_config[0], matcher_url=recorder.url)
    async with serving(create_app(settings), free_port()) as gateway:  # a real server, as deployed
        response = await gateway.get("/api/v1/matcher/progress", headers=await token_of(gateway, "admin"))
        own = await gateway.get("/healthz")
    assert response.status_code == 200 and response.json() == {"settled": True}
    for name in ("date", "server"):
        assert len(response.headers.get_list(name)) == len(own.headers.get_list(name)) == 1, name
    for name in ("content-type", "content-length", "x-request-id"):
        assert len(response.headers.get_list(name)) == 1, name


@asynccontextmanager
async def documents(docs: dict[str, dict]) -> AsyncIterator[dict[str, str]]:
    """Stand-ins serving each service's real OpenAPI document; their URLs as gateway settings."""
    urls: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        for name, doc in docs.items():
            app = FastAPI(openapi_url=None)

            @app.get("/openapi.json")
            async def served(doc: dict = doc) -> JSONResponse:
                return JSONResponse(doc)

            port = free_port()
            await stack.enter_async_context(serving(app, port))
            urls[f"{name}_url"] = f"http://127.0.0.1:{port}"
        yield urls


async def test_the_merged_openapi_has_one_list_shape_one_error_shape_and_examples(gateway_factory) -> None:
    from fund_svc.main import create_app as fund_app
    from fund_svc.main import service as fund
    from insurance_svc.main import create_app as insurance_app
    from insurance_svc.main import service as insurance
    from matcher_svc.main import create_app as matcher_app
    from matcher_svc.main import service as matcher
    from registry_svc.main import create_app as registry_app
    from registry_svc.main import service as registry

    docs = {
        "registry": registry_app(registry.load_settings()).openapi(),
        "insurance": insurance_app(insurance.load_settings()).openapi(),
        "fund": fund_app(fund.load_settings()).openapi(),
        "matcher": matcher_app(matcher.load_settings()).openapi(),
    }
    async with documents(docs) as urls, gateway_factory(**urls) as gateway:
        doc = (await gateway.get("/openapi.json")).json()
    assert doc["x-unavailable-services"] == ["case-svc"]  # case-svc's part is checked end to end
    assert {"/api/v1/registry/registrations/{category}/{certificate_no}", "/api/v1/matcher/findings"} <= set(
        doc["paths"]
    )
    assert shape_violations(doc) == []
    schemas = doc["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError"} & set(schemas)
    assert not [name for name in schemas if name.endswith("__ErrorBody")]  # one ErrorBody, not one per service
    assert missing_examples(doc) == []
    assert "a query parameter an operation does not declare" in doc["info"]["description"]
