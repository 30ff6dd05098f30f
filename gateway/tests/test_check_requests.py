"""Check requests through the gateway, with registry-svc behind it: who may issue and download, and a download
of a list of full ID numbers written to the access log, one entry per person on the list."""

from __future__ import annotations

import orjson
import pytest

from devtools.embedded import free_port
from devtools.feeds import JSON, person_key
from devtools.synthetic import generate_province
from devtools.testing import serving
from registry_svc.main import create_app as registry_app
from registry_svc.main import service as registry_service

API = "/api/v1/registry/check-requests"


@pytest.fixture
def registry_db(service_database):
    return service_database(registry_service)


async def test_a_downloaded_list_is_in_the_access_log(gateway_factory, token_of, registry_db, infra) -> None:
    registrations = [dict(r, region_code="150102") for r in generate_province(people=6, seed=31).registrations]
    listed = {person_key(r["id_number"]) for r in registrations if r["status"] == "active"}
    port = free_port()
    async with serving(registry_app(registry_db.settings(infra)), port) as registry:
        loaded = await registry.post(
            "/api/v1/registry/registrations", content=orjson.dumps(registrations), headers=JSON
        )
        assert loaded.status_code == 201
        async with gateway_factory(registry_url=f"http://127.0.0.1:{port}") as gateway:
            officer, admin = await token_of(gateway, "hohhot"), await token_of(gateway, "admin")
            county = await token_of(gateway, "hohhot-county")
            body = {"region_code": "150100", "centre": "insurance"}
            assert (await gateway.post(API, json=body, headers=county)).status_code == 403  # checks:write
            issued = await gateway.post(API, json=body, headers=officer)
            assert issued.status_code == 201, issued.text
            download = f"{API}/{issued.json()['request_ref']}/download"

            as_centre = await gateway.get(download, headers=await token_of(gateway, "hohhot-insurance-feed"))
            assert as_centre.status_code == 200 and as_centre.content.decode("utf-8-sig").startswith("AAC002,AAC003")
            other_centre = await gateway.get(download, headers=await token_of(gateway, "hohhot-fund-feed"))
            assert other_centre.status_code == 404
            assert (await gateway.get(download, headers=county)).status_code == 403  # checks:download
            log = (await gateway.get("/api/v1/audit/person-access", headers=admin)).json()["items"]
    entries = [e for e in log if e["client_id"] == "hohhot-insurance-feed"]
    assert {e["person_ref"] for e in entries} == listed and len(entries) == len(listed)
    assert {(e["action"], e["route"], e["status"]) for e in entries} == {
        ("export", f"GET {API}/{{request_ref}}/download", 200)
    }
    assert {e["client_id"] for e in log} == {"hohhot-insurance-feed"}  # the refused downloads named nobody
