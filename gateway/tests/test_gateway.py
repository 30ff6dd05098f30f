"""The gateway on its own (real PostgreSQL, the services down or a stand-in recording what it is sent):
tokens, refusals, limits, lookup, audit, docs, the caller credential it forwards, reveal, its own internal
endpoints."""

from __future__ import annotations

import base64
import logging

import jwt
import orjson

from devtools.testing import caller_headers
from gateway_svc.roles import ROLE_SCOPES, Role
from kernel.credentials import (
    DEV_CALLER_VERIFY_KEY,
    DEV_SERVICE_SECRET,
    LIFETIME_SECONDS,
    Caller,
    CallerKind,
    verify,
    verify_key,
)
from kernel.privacy import Pseudonymizer
from kernel.settings import DEV_PEPPER

VALID_ID = "11010519491231002X"


async def test_token_endpoint_follows_oauth_client_credentials(gateway, client_config) -> None:
    secrets = client_config[1]
    ok = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": "hohhot", "client_secret": secrets["hohhot"]},
    )
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and "findings:read" in body["scope"].split()

    basic = base64.b64encode(f"dashboard:{secrets['dashboard']}".encode()).decode()
    via_basic = await gateway.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert via_basic.status_code == 200

    narrowed = await gateway.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "hohhot",
            "client_secret": secrets["hohhot"],
            "scope": "findings:read",
        },
    )
    assert narrowed.json()["scope"] == "findings:read"

    cases = {
        "wrong secret": (
            {"grant_type": "client_credentials", "client_id": "hohhot", "client_secret": "x"},
            401,
            "invalid_client",
        ),
        "unknown client": (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
            401,
            "invalid_client",
        ),
        "grant": (
            {"grant_type": "password", "client_id": "hohhot", "client_secret": secrets["hohhot"]},
            400,
            "unsupported_grant_type",
        ),
        "scope": (
            {
                "grant_type": "client_credentials",
                "client_id": "hohhot",
                "client_secret": secrets["hohhot"],
                "scope": "audit:read",
            },
            400,
            "invalid_scope",
        ),
    }
    for name, (form, status, error) in cases.items():
        response = await gateway.post("/api/v1/auth/token", data=form)
        assert (response.status_code, response.json()["error"]) == (status, error), name
    as_json = await gateway.post("/api/v1/auth/token", json={"grant_type": "client_credentials"})
    assert as_json.json()["error"] == "invalid_request"


async def test_refusals_have_the_error_shape_and_are_logged(gateway, token_of, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="gateway_svc.refusals")
    no_token = await gateway.get("/api/v1/matcher/findings", auth=None)
    assert no_token.status_code == 401 and no_token.headers["www-authenticate"].startswith("Bearer")
    assert no_token.json()["detail"][0]["type"] == "unauthorized"
    # A credential of the services (the test client's default) is no token of the gateway's.
    service_credential = await gateway.get("/api/v1/matcher/findings")
    assert service_credential.status_code == 401

    bad_token = await gateway.get("/api/v1/matcher/findings", headers={"Authorization": "Bearer abc.def.ghi"})
    assert bad_token.status_code == 401 and 'error="invalid_token"' in bad_token.headers["www-authenticate"]

    unknown = await gateway.get("/api/v1/registry/internal-things", headers=await token_of(gateway, "admin"))
    assert unknown.status_code == 404 and unknown.json()["detail"][0]["type"] == "not_found"
    internal = await gateway.get("/internal/persons/0123456789abcdef/identity")
    assert internal.status_code == 404  # the services' internal routes are not the gateway's, even for a service

    dashboard = await token_of(gateway, "dashboard")
    push = await gateway.post("/api/v1/registry/registrations", content=b"x", headers=dashboard)
    assert push.status_code == 403 and push.json()["detail"][0]["type"] == "insufficient_scope"
    fund = await token_of(gateway, "fund-feed")
    assert (await gateway.get("/api/v1/cases", headers=fund)).status_code == 403
    assert (await gateway.get("/api/v1/matcher/findings", headers=fund)).status_code == 403

    refused = [r for r in caplog.records if r.getMessage() == "request refused"]
    assert {r.status for r in refused} >= {401, 403, 404}
    assert any(r.client_id == "dashboard" and r.status == 403 for r in refused)


async def test_a_body_over_the_limit_is_413_before_any_service_is_asked(gateway_factory, token_of) -> None:
    async with gateway_factory(body_limit=1024, feed_body_limit=4096) as gateway:
        admin = await token_of(gateway, "admin")
        small_route = await gateway.put(
            "/api/v1/matcher/review-month", content=b"x" * 2000, headers={**admin, "Content-Type": "application/json"}
        )
        assert small_route.status_code == 413 and small_route.json()["detail"][0]["type"] == "payload_too_large"
        feed = await token_of(gateway, "registry-feed")
        big_feed = await gateway.post(
            "/api/v1/registry/units", content=b"x" * 5000, headers={**feed, "Content-Type": "text/csv"}
        )
        assert big_feed.status_code == 413


async def test_a_service_that_is_down_is_503_in_the_error_shape(gateway, token_of) -> None:
    response = await gateway.get("/api/v1/matcher/findings", headers=await token_of(gateway, "hohhot"))
    assert response.status_code == 503
    assert response.json() == {
        "detail": [{"type": "unavailable", "msg": "matcher-svc is unavailable; retry later", "loc": []}]
    }
    assert "retry-after" in response.headers


async def test_too_many_requests_is_429_with_retry_after(gateway_factory, token_of) -> None:
    # Refilled so slowly that no request is allowed again during the test, however slow the machine.
    async with gateway_factory(rate_limit_per_second=0.01, rate_limit_burst=3) as gateway:
        admin = await token_of(gateway, "admin")
        statuses = [
            (await gateway.post("/api/v1/persons/lookup", json={"id_number": VALID_ID}, headers=admin)).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = await gateway.post("/api/v1/persons/lookup", json={"id_number": VALID_ID}, headers=admin)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        # Another client has its own bucket.
        assert (
            await gateway.post(
                "/api/v1/persons/lookup", json={"id_number": VALID_ID}, headers=await token_of(gateway, "hohhot")
            )
        ).status_code == 200


async def test_publication_lists_are_audited_per_person_they_name(gateway_factory, token_of, recorder) -> None:
    """A 公示 list names people: reading it (alone or in a page) and exporting it as a file write one entry per
    person to the access log; the file's people are those case-svc's JSON of the same list names."""
    listed, one = "/api/v1/publications", "/api/v1/publications/6a8c0e2b-4d6f-4a1c-9e3b-5d7f9a1c3e5b"
    rows = [{"case_ref": "AJ-1", "person_ref": "a" * 26, "name": "甲"}, {"case_ref": "AJ-2", "person_ref": "b" * 26}]
    recorder.answers |= {listed: {"items": [{"rows": rows[:1]}], "next_cursor": None}, one: {"rows": rows}}
    recorder.answers[f"{one}/export"] = {"a file": "as the recorder answers it"}
    async with gateway_factory(case_url=recorder.url) as gateway:
        hohhot, admin = await token_of(gateway, "hohhot"), await token_of(gateway, "admin")
        for path in (listed, one, f"{one}/export"):
            assert (await gateway.get(path, headers=hohhot)).status_code == 200, path
        log = await gateway.get("/api/v1/audit/person-access", params={"client_id": "hohhot"}, headers=admin)
    entries = sorted((e["route"], e["action"], e["person_ref"][0]) for e in log.json()["items"])
    assert entries == [
        ("GET /api/v1/publications", "read", "a"),
        ("GET /api/v1/publications/{publication_id}", "read", "a"),
        ("GET /api/v1/publications/{publication_id}", "read", "b"),
        ("GET /api/v1/publications/{publication_id}/export", "export", "a"),
        ("GET /api/v1/publications/{publication_id}/export", "export", "b"),
    ]
    # The gateway asked case-svc for the exported list's people with its own service credential.
    (method, path, headers) = recorder.requests[-1]
    assert (method, path, verified(credential_sent(headers)).is_service) == ("GET", one, True)


async def test_lookup_gives_the_pseudonym_and_is_audited(gateway, token_of, caplog) -> None:
    caplog.set_level(logging.INFO)
    officer = await token_of(gateway, "hohhot")
    found = await gateway.post("/api/v1/persons/lookup", json={"id_number": VALID_ID.lower()}, headers=officer)
    assert found.status_code == 200
    person_ref = Pseudonymizer(DEV_PEPPER.encode()).person_key(VALID_ID)
    assert found.json() == {"person_ref": person_ref, "masked_id": "110105**********2X"}
    bad = await gateway.post("/api/v1/persons/lookup", json={"id_number": "110105194912310021"}, headers=officer)
    assert bad.status_code == 422 and "110105194912310021" not in bad.text
    assert VALID_ID not in caplog.text and VALID_ID.lower() not in caplog.text

    assert (await gateway.get("/api/v1/audit/person-access", headers=officer)).status_code == 403
    admin = await token_of(gateway, "admin")
    log = await gateway.get("/api/v1/audit/person-access", params={"person_ref": person_ref}, headers=admin)
    assert log.status_code == 200
    [entry] = log.json()["items"]
    assert (entry["client_id"], entry["role"], entry["action"], entry["status"]) == (
        "hohhot",
        "city_officer",
        "lookup",
        200,
    )
    assert entry["request_id"] == found.headers["x-request-id"]
    by_client = await gateway.get("/api/v1/audit/person-access", params={"client_id": "admin"}, headers=admin)
    assert by_client.json()["items"] == []
    assert (
        await gateway.get("/api/v1/audit/person-access", params={"cursor": "WyJ4Il0"}, headers=admin)
    ).status_code == 422
    long_ago = await gateway.get(
        "/api/v1/audit/person-access", params={"since": "0001-01-01T00:00:00+08:00"}, headers=admin
    )
    assert long_ago.status_code == 422 and long_ago.json()["detail"][0]["loc"] == ["query", "since"]
    # Filters combine; a `since` without a zone is UTC.
    for since, expected in (("2000-01-01T00:00:00", 1), ("2099-01-01T00:00:00", 0)):
        page = await gateway.get(
            "/api/v1/audit/person-access", params={"person_ref": person_ref, "since": since}, headers=admin
        )
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) == expected, since


async def test_page_sizes_are_capped_in_the_forwarded_query() -> None:
    from starlette.requests import Request

    from gateway_svc.proxy import forwarded_query

    request = Request({"type": "http", "query_string": b"limit=5000&region_code=150100&limit=7", "headers": []})
    # As sent: httpx keeps a name's values together.
    query = forwarded_query(request, 500)
    assert query.multi_items() == [("limit", "500"), ("limit", "7"), ("region_code", "150100")]


async def test_merged_openapi_says_which_services_are_down(gateway) -> None:
    response = await gateway.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert set(doc["x-unavailable-services"]) == {
        "registry-svc",
        "insurance-svc",
        "fund-svc",
        "matcher-svc",
        "case-svc",
    }
    assert "Unavailable" in doc["info"]["description"]
    assert {"/api/v1/auth/token", "/api/v1/persons/lookup", "/api/v1/audit/person-access"} <= doc["paths"].keys()
    assert "oauth2" in doc["components"]["securitySchemes"]
    assert (await gateway.get("/docs")).status_code == 200


FORGED = {"X-Region-Scope": "000000", "X-Actor": "admin", "X-Actor-Role": "province_admin", "Cookie": "session=x"}


def verified(token: str) -> Caller:
    """The caller a credential states, verified as every service verifies it."""
    return verify(token, caller_key=verify_key(DEV_CALLER_VERIFY_KEY), service_secret=DEV_SERVICE_SECRET)


def credential_sent(headers: list[tuple[str, str]]) -> str:
    [authorization] = [value for name, value in headers if name == "authorization"]
    scheme, _, token = authorization.partition(" ")
    assert scheme == "Bearer"
    return token


async def test_a_request_giving_cases_to_officers_carries_whom_the_gateway_knows_to_work_cases(
    site_factory, token_of, recorder
) -> None:
    """case-svc gives a case only to someone the gateway vouches for (case-svc tests the refusals): the active
    accounts and machine clients named that work cases, with their regions — never a disabled account, one that
    does not work cases, a stranger, or what the body claims."""
    spread = "/api/v1/cases/assign-round-robin"
    recorder.answers[spread] = {"assignments": [], "skipped": [], "load": []}
    body = {
        "region_code": "150100",
        "assignees": ["zhao-wei", "old-hand", "watcher", "hohhot-county", "stranger"],
        "officers": {"stranger": ["000000"]},  # a body cannot vouch for anyone
    }
    async with site_factory(case_url=recorder.url) as site:
        await site.account("zhao-wei", Role.county_officer, ["150102"])
        await site.account("old-hand", Role.county_officer, ["150102"])
        await site.sql("UPDATE accounts SET disabled = true WHERE username = 'old-hand'")
        await site.account("watcher", Role.dashboard, ["150000"])
        async with site.browser() as client:
            hohhot = await token_of(client, "hohhot")
            answered = await client.post(spread, json=body, headers=hohhot)
            assert answered.status_code == 200, answered.text
            assigned = await client.post(
                "/api/v1/cases/AJ-150102-2026-000001/assign", json={"assignee": "x"}, headers=hohhot
            )
            assert assigned.status_code == 404  # the recorder knows no such case; the request was passed on
            assert (await client.get("/api/v1/cases/notices", headers=hohhot)).status_code == 404
            # Names no account or client can have are not looked up (a NUL would fail the database's query).
            odd = {"region_code": "150100", "assignees": ["a\x00b", "x" * 300, 7, None, "zhao-wei"], "assignee": ["x"]}
            assert (await client.post(spread, json=odd, headers=hohhot)).status_code == 200
    (_, _, spreading), (_, _, by_hand), (_, _, reading), (_, _, odd_names) = recorder.requests
    assert verified(credential_sent(spreading)).officers == {"zhao-wei": ("150102",), "hohhot-county": ("150102",)}
    assert recorder.bodies[0] == len(orjson.dumps(body))  # passed on whole, as sent
    assert verified(credential_sent(by_hand)).officers == {}
    assert verified(credential_sent(reading)).officers == {}  # only the routes that name officers carry any
    assert verified(credential_sent(odd_names)).officers == {"zhao-wei": ("150102",)}


async def test_the_gateway_speaks_for_the_caller_with_a_credential_and_drops_forged_headers(
    gateway_factory, token_of, recorder
) -> None:
    findings = "/api/v1/matcher/findings"
    recorder.answers[findings] = {"items": [], "next_cursor": None}
    async with gateway_factory(matcher_url=recorder.url) as gateway:
        hohhot = await token_of(gateway, "hohhot")
        forwarded = await gateway.get(findings, headers={**hohhot, **FORGED, "X-Request-ID": "zt-1"})
        assert forwarded.status_code == 200, forwarded.text
        narrowed = await token_of(gateway, "hohhot", scope="findings:read")
        assert (await gateway.get(findings, headers=narrowed)).status_code == 200
    [(_, _, first), (_, _, second)] = recorder.requests
    names = {name for name, _ in first}
    assert not names & {"x-region-scope", "x-actor", "x-actor-role", "cookie"}
    assert dict(first)["x-request-id"] == "zt-1"
    token = credential_sent(first)
    assert token != hohhot["Authorization"].split()[1]  # the client's token stays at the gateway
    assert verified(token) == Caller(
        actor="hohhot",
        role="city_officer",
        regions=("150100",),
        scopes=frozenset(scope.value for scope in ROLE_SCOPES[Role.city_officer]),
        kind=CallerKind.client,
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == LIFETIME_SECONDS  # a minute: a leaked credential soon means nothing
    # The token's scopes, not the role's: a client that asked for fewer speaks with fewer.
    assert verified(credential_sent(second)).scopes == {"findings:read"}


async def test_reveal_applies_the_callers_regions_then_reads_the_identity_as_a_service(
    gateway_factory, token_of, recorder
) -> None:
    registered, elsewhere = "ab" * 13, "cd" * 13
    registrations = "/api/v1/registry/persons/{}/registrations"
    identity = "/internal/persons/{}/identity"
    recorder.answers[registrations.format(registered)] = {"items": [{"certificate_no": "CERT-1"}], "next_cursor": None}
    # Registered only outside the caller's regions: an empty page.
    recorder.answers[registrations.format(elsewhere)] = {"items": [], "next_cursor": None}
    for ref in (registered, elsewhere):  # what the identity endpoint, answering any service, would give
        recorder.answers[identity.format(ref)] = {
            "person_ref": ref,
            "id_number": VALID_ID,
            "masked_id": "110105**********2X",
            "name": "测试",
        }
    async with gateway_factory(registry_url=recorder.url) as gateway:
        admin = await token_of(gateway, "admin")
        revealed = await gateway.post(f"/api/v1/persons/{registered}/reveal", headers=admin)
        refused = await gateway.post(f"/api/v1/persons/{elsewhere}/reveal", headers=admin)
        entries = (
            await gateway.get("/api/v1/audit/person-access", params={"client_id": "admin"}, headers=admin)
        ).json()["items"]
    assert revealed.status_code == 200 and revealed.headers["cache-control"] == "no-store"
    assert revealed.json()["id_number"] == VALID_ID
    assert refused.status_code == 404 and VALID_ID not in refused.text
    assert [path for _, path, _ in recorder.requests] == [
        registrations.format(registered),
        identity.format(registered),
        registrations.format(elsewhere),  # and not its identity
    ]
    as_caller, as_service, _ = (verified(credential_sent(headers)) for _, _, headers in recorder.requests)
    assert (as_caller.kind, as_caller.actor, as_caller.regions) == (CallerKind.client, "admin", ("150000",))
    assert (as_service.kind, as_service.actor) == (CallerKind.service, "gateway")
    assert {(e["person_ref"], e["action"], e["status"]) for e in entries} == {
        (registered, "reveal", 200),
        (elsewhere, "reveal", 404),
    }


async def test_the_gateways_own_internal_endpoints_take_only_a_service_credential(gateway, token_of) -> None:
    officer = caller_headers(regions=["000000"], role="province_admin", actor="admin")
    for path in ("/metrics", "/internal/outbox"):
        assert (await gateway.get(path, auth=None)).status_code == 401, path
        assert (await gateway.get(path, headers=await token_of(gateway, "admin"))).status_code == 401, path
        assert (await gateway.get(path, headers=officer)).status_code == 403, path
    scraped = await gateway.get("/metrics")  # the test client's default: a service credential
    assert scraped.status_code == 200 and "http_requests" in scraped.text


async def test_a_cases_files_go_through_with_their_limit_and_their_person_in_the_access_log(
    gateway_factory, token_of, recorder
) -> None:
    case = "/api/v1/cases/AJ-150102-2026-000004"
    person_ref = "f" * 64
    for path in (f"{case}/attachments/1", f"{case}/documents/decision"):
        recorder.answers[path] = {"stand-in": "a file"}
        recorder.answer_headers[path] = {"X-Person-Ref": person_ref}
    recorder.answers[f"{case}/documents/notice"] = {"stand-in": "a file that names nobody"}
    recorder.answers["/api/v1/cases/notices"] = {"due_soon": 0, "items": []}
    recorder.answers["/api/v1/publications"] = {"items": [], "next_cursor": None}
    photo = b"\x89PNG" + b"\0" * (3 * 1024**2)  # above the 1 MiB of an ordinary request
    async with gateway_factory(case_url=recorder.url) as gateway:
        officer, admin = await token_of(gateway, "hohhot"), await token_of(gateway, "admin")
        uploaded = await gateway.post(f"{case}/attachments", files={"file": ("照片.png", photo)}, headers=officer)
        assert uploaded.status_code == 404  # the stand-in's answer: the upload reached case-svc whole
        assert recorder.bodies[-1] > len(photo)
        too_big = b"\0" * (21 * 1024**2)
        refused = await gateway.post(f"{case}/attachments", files={"file": ("a.pdf", too_big)}, headers=officer)
        assert refused.status_code == 413
        assert (await gateway.post(f"{case}/notes", content=photo, headers=officer)).status_code == 413

        for kind in ("attachments/1", "documents/decision"):
            served = await gateway.get(f"{case}/{kind}", headers=officer)
            assert served.status_code == 200, served.text
            assert "x-person-ref" not in served.headers  # named to the gateway, not to the caller
        # Issuing a document (its number) is a write: an officer's, logged like a read of the person.
        issued = await gateway.post(f"{case}/documents/decision", headers=officer)
        assert issued.status_code == 200 and "x-person-ref" not in issued.headers
        dashboard = await token_of(gateway, "dashboard")
        assert (await gateway.post(f"{case}/documents/decision", headers=dashboard)).status_code == 403
        # A file about a person whose service does not name them is not passed on unlogged.
        assert (await gateway.get(f"{case}/documents/notice", headers=officer)).status_code == 503
        # `notices` is not a case number; publications are case-svc's.
        assert (await gateway.get("/api/v1/cases/notices", headers=officer)).json() == {"due_soon": 0, "items": []}
        assert (await gateway.get("/api/v1/publications", headers=officer)).status_code == 200
        assert (await gateway.post("/api/v1/publications", json={}, headers=officer)).status_code == 403

        log = await gateway.get("/api/v1/audit/person-access", params={"person_ref": person_ref}, headers=admin)
        assert [(e["client_id"], e["action"], e["route"]) for e in log.json()["items"]] == [  # newest first
            ("hohhot", "read", "POST /api/v1/cases/{case_id}/documents/{kind}"),
            ("hohhot", "read", "GET /api/v1/cases/{case_id}/documents/{kind}"),
            ("hohhot", "read", "GET /api/v1/cases/{case_id}/attachments/{number}"),
        ]
