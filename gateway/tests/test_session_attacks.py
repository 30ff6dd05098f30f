"""Attacks on people's sessions: the gateway trusts no cookie, token or origin it did not verify. Writes by
cookie need the session's own CSRF token and this site's Origin; ended, idle, disabled and forged sessions are
401; a person's regions and scopes are applied as a client's are; the services hear the person's username."""

from __future__ import annotations

import uuid

import pytest
from people_helpers import ORIGIN, PASSWORD, sign_in, writes

from devtools.embedded import free_port
from devtools.testing import serving
from gateway_svc.roles import ROLE_SCOPES, Role
from kernel.credentials import DEV_CALLER_VERIFY_KEY, DEV_SERVICE_SECRET, CallerKind, verify, verify_key

LOOKUP = "/api/v1/persons/lookup"
ID_NUMBER = {"id_number": "150102199003070015"}


async def test_a_write_by_cookie_needs_this_sessions_csrf_token_and_this_sites_origin(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    await site.account("hohhot-zhao", Role.city_officer, ["150100"])
    async with site.browser() as browser, site.browser() as other:
        me = await sign_in(browser, "hohhot-wang")
        theirs = await sign_in(other, "hohhot-zhao")
        no_token = await browser.post(LOOKUP, json=ID_NUMBER, headers={"Origin": ORIGIN})
        assert no_token.status_code == 403 and no_token.json()["detail"][0]["type"] == "csrf_failed"
        wrong_token = await browser.post(LOOKUP, json=ID_NUMBER, headers={"Origin": ORIGIN, "X-CSRF-Token": "x" * 43})
        assert wrong_token.status_code == 403
        another_sessions = await browser.post(LOOKUP, json=ID_NUMBER, headers=writes(theirs))
        assert another_sessions.status_code == 403
        cross_origin = await browser.post(
            LOOKUP, json=ID_NUMBER, headers={"Origin": "https://evil.example", "X-CSRF-Token": me["csrf_token"]}
        )
        assert cross_origin.status_code == 403 and "Origin" in cross_origin.json()["detail"][0]["msg"]
        no_origin = await browser.post(LOOKUP, json=ID_NUMBER, headers={"X-CSRF-Token": me["csrf_token"]})
        assert no_origin.status_code == 403
        by_referer = await browser.post(
            LOOKUP, json=ID_NUMBER, headers={"Referer": f"{ORIGIN}/console/", "X-CSRF-Token": me["csrf_token"]}
        )
        assert by_referer.status_code == 200
        assert (await browser.post(LOOKUP, json=ID_NUMBER, headers=writes(me))).status_code == 200
        # Sign-out is a write too; a cross-site sign-in is refused.
        assert (await browser.delete("/api/v1/auth/session", headers={"Origin": ORIGIN})).status_code == 403
        cross_sign_in = await other.post(
            "/api/v1/auth/session",
            json={"username": "hohhot-wang", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_sign_in.status_code == 403
        # Reads need no token: the cookie alone (SameSite=Strict keeps it home).
        assert (await browser.get("/api/v1/auth/me")).status_code == 200


async def test_a_bearer_client_is_unaffected_by_csrf(site, token_of) -> None:
    async with site.browser() as client:
        headers = await token_of(client, "hohhot")
        assert (await client.post(LOOKUP, json=ID_NUMBER, headers=headers)).status_code == 200
        assert (await client.get("/api/v1/auth/me", headers=headers)).json()["kind"] == "client"
        own_password = await client.post(
            "/api/v1/auth/password", json={"current_password": "a", "new_password": "b"}, headers=headers
        )
        assert own_password.status_code == 403  # a client has no password here


@pytest.mark.parametrize("ending", ["idle", "absolute", "revoked", "disabled", "forged"])
async def test_an_ended_or_forged_session_is_401(site, ending) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        await sign_in(browser, "hohhot-wang")
        if ending == "idle":  # 31 minutes without a request
            await site.sql("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'")
        elif ending == "absolute":  # used a minute ago, but signed in 12 hours ago
            await site.sql("UPDATE sessions SET expires_at = now() - interval '1 second'")
        elif ending == "revoked":
            await site.sql("UPDATE sessions SET revoked_at = now()")
        elif ending == "disabled":
            await site.sql("UPDATE accounts SET disabled = true")
        else:
            browser.cookies.set("guazheng_session", uuid.uuid4().hex + uuid.uuid4().hex, domain="gateway.test")
        response = await browser.get("/api/v1/auth/me")
        assert response.status_code == 401, ending
        assert response.json()["detail"][0]["type"] == "unauthorized"
        assert (await browser.get("/api/v1/matcher/findings")).status_code == 401


async def test_a_disabled_account_cannot_sign_in_and_gets_no_hint(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    await site.sql("UPDATE accounts SET disabled = true")
    async with site.browser() as browser:
        response = await browser.post("/api/v1/auth/session", json={"username": "hohhot-wang", "password": PASSWORD})
        assert response.status_code == 401 and response.json()["detail"][0]["type"] == "invalid_credentials"


async def test_the_services_hear_the_person_and_their_regions(site_factory, recorder) -> None:
    """What a service receives for a person: a credential of kind person, the username as actor, the account's
    role, regions and scopes — and neither the cookie nor the CSRF token."""
    findings = "/api/v1/matcher/findings"
    recorder.answers[findings] = {"items": [], "next_cursor": None}
    async with site_factory(matcher_url=recorder.url) as site:
        await site.account("xincheng-li", Role.county_officer, ["150102"])
        async with site.browser() as browser:
            me = await sign_in(browser, "xincheng-li")
            assert (await browser.get(findings, params={"region_code": "150102"})).status_code == 200
            assert (await browser.get(findings, headers=writes(me))).status_code == 200
    [(_, _, headers), (_, _, with_token)] = recorder.requests
    assert not {name for name, _ in headers + with_token} & {"cookie", "x-csrf-token"}
    [authorization] = [value for name, value in headers if name == "authorization"]
    caller = verify(
        authorization.split()[1], caller_key=verify_key(DEV_CALLER_VERIFY_KEY), service_secret=DEV_SERVICE_SECRET
    )
    assert caller.kind is CallerKind.person and caller.actor == "xincheng-li"
    assert caller.role == "county_officer" and caller.regions == ("150102",)
    assert caller.scopes == {s.value for s in ROLE_SCOPES[Role.county_officer]}


@pytest.fixture
def case_settings(service_database, infra):
    from case_svc.main import service as case_service

    return service_database(case_service).settings(infra, kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.")


async def test_a_case_action_by_session_is_recorded_under_the_username_and_regions_hold(
    site_factory, case_settings
) -> None:
    """case-svc itself (in-process, over HTTP): a complaint registered by a signed-in officer is the officer's in
    its history; a county officer of another county sees neither it nor may register one there."""
    from case_svc.main import create_app as create_case_app

    port = free_port()
    async with serving(create_case_app(case_settings), port), site_factory(case_url=f"http://127.0.0.1:{port}") as site:
        await site.account("xincheng-li", Role.county_officer, ["150102"])
        await site.account("huimin-ma", Role.county_officer, ["150103"], display_name="马丽")
        async with site.browser() as xincheng, site.browser() as huimin:
            me = await sign_in(xincheng, "xincheng-li")
            body = {
                "channel": "phone",
                "received_on": "2026-11-02",
                "region_code": "150102",
                "subject_unit_name": "呼和浩特华建建设有限公司",
                "content": "举报该公司项目经理长期不在岗，注册证书疑似挂靠",
            }
            registered = await xincheng.post("/api/v1/complaints", json=body, headers=writes(me))
            assert registered.status_code == 201, registered.text
            complaint_id = registered.json()["complaint_id"]
            history = (await xincheng.get(f"/api/v1/complaints/{complaint_id}/history")).json()["items"]
            assert (history[0]["actor"], history[0]["actor_role"]) == ("xincheng-li", "county_officer")
            other = await sign_in(huimin, "huimin-ma")
            assert (await huimin.get(f"/api/v1/complaints/{complaint_id}")).status_code == 404
            outside = await huimin.post("/api/v1/complaints", json=body, headers=writes(other))
            assert outside.status_code == 403
            listing = await huimin.get("/api/v1/complaints", params={"region_code": "150102"})
            assert listing.status_code == 403


async def test_a_bureau_person_uploads_as_its_feed_client_and_is_noted(site_factory, recorder) -> None:
    """A 社保 centre's person: the upload reaches insurance-svc as the feed client (its batch, its profile), the
    gateway notes the person as uploader, and the client's batches are the person's to read."""
    batch_id = str(uuid.uuid4())
    recorder.answers["/api/v1/insurance/contributions"] = {"batch_id": batch_id, "dry_run": False}
    recorder.answers[f"/api/v1/insurance/batches/{batch_id}"] = {"batch_id": batch_id}
    async with site_factory(insurance_url=recorder.url) as site:
        await site.account("shebao-sun", Role.insurance_feed, ["150100"], acts_for="hohhot-insurance-feed")
        async with site.browser() as browser:
            me = await sign_in(browser, "shebao-sun")
            uploaded = await browser.post(
                "/api/v1/insurance/contributions",
                content=b"id_number,name\n",
                headers={**writes(me), "Content-Type": "text/csv", "Idempotency-Key": "k-1"},
            )
            assert uploaded.status_code == 200, uploaded.text
            assert (await browser.get(f"/api/v1/insurance/batches/{batch_id}")).status_code == 200
        [row] = await site.sql("SELECT client_id, uploaded_by FROM feed_batches")
        assert (row["client_id"], row["uploaded_by"]) == ("hohhot-insurance-feed", "shebao-sun")
    (_, _, upload), (_, _, receipt) = recorder.requests
    credentials = [
        verify(v.split()[1], caller_key=verify_key(DEV_CALLER_VERIFY_KEY), service_secret=DEV_SERVICE_SECRET)
        for name, v in upload + receipt
        if name == "authorization"
    ]
    assert [(c.actor, c.kind) for c in credentials] == [
        ("hohhot-insurance-feed", CallerKind.person),  # the upload: the client's batch and profile
        ("shebao-sun", CallerKind.person),  # anything else: the person
    ]
    assert dict(upload)["idempotency-key"] == "hohhot-insurance-feed:k-1"
