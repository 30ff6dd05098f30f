"""People sign in as themselves: sessions (cookie, CSRF token, expiry), lockout, TOTP, one's own password, and
the province administrators' management of accounts within their regions, each change in its history."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime

import pyotp
import segno
from people_helpers import ORIGIN, PASSWORD, sign_in, writes

from gateway_svc.roles import Role, Scope


async def test_a_person_signs_in_sees_who_they_are_and_signs_out(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        response = await browser.post(
            "/api/v1/auth/session", json={"username": "hohhot-wang", "password": PASSWORD}, headers={"Origin": ORIGIN}
        )
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("guazheng_session=")  # development: no Secure, so no __Host- prefix
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert response.headers["cache-control"] == "no-store"
        me = response.json()
        assert me["kind"] == "person" and me["username"] == "hohhot-wang" and me["display_name"] == "王建军"
        assert me["role"] == "city_officer" and me["regions"] == ["150100"] and "cases:write" in me["scopes"]
        assert len(me["csrf_token"]) >= 40
        # The session id is stored only as its digest.
        session_id = browser.cookies["guazheng_session"]
        [row] = await site.sql("SELECT session_hash FROM sessions")
        assert row["session_hash"] != session_id and len(row["session_hash"]) == 64

        again = await browser.get("/api/v1/auth/me")
        assert again.status_code == 200 and again.json()["csrf_token"] == me["csrf_token"]

        out = await browser.delete("/api/v1/auth/session", headers=writes(me))
        assert out.status_code == 204
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
    [row] = await site.sql("SELECT revoked_at FROM sessions")
    assert row["revoked_at"] is not None


async def test_unknown_user_and_wrong_password_get_the_same_answer(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        answers = []
        for username, password in (("nobody-here", PASSWORD), ("hohhot-wang", "Wrong-password-1")):
            started = time.perf_counter()
            response = await browser.post("/api/v1/auth/session", json={"username": username, "password": password})
            answers.append((response.status_code, response.json(), time.perf_counter() - started))
        (s1, b1, t1), (s2, b2, t2) = answers
        assert s1 == s2 == 401 and b1 == b2
        assert b1["detail"][0]["type"] == "invalid_credentials" and "用户名或密码错误" in b1["detail"][0]["msg"]
        assert max(t1, t2) < 4 * min(t1, t2)  # both verify an argon2 hash (a dummy one for the unknown name)
        assert "set-cookie" not in response.headers


async def test_repeated_failures_lock_the_account_then_it_unlocks(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        for _ in range(4):
            wrong = await browser.post("/api/v1/auth/session", json={"username": "hohhot-wang", "password": "x"})
            assert wrong.status_code == 401
        locking = await browser.post("/api/v1/auth/session", json={"username": "hohhot-wang", "password": "y"})
        assert locking.status_code == 423, locking.text
        until = datetime.fromisoformat(locking.json()["locked_until"])
        assert 14 * 60 < (until - datetime.now(until.tzinfo)).total_seconds() <= 15 * 60
        assert int(locking.headers["retry-after"]) > 800
        assert locking.json()["detail"][0]["type"] == "account_locked" and "锁定" in locking.json()["detail"][0]["msg"]
        # Even the right password is refused while locked.
        right = await browser.post("/api/v1/auth/session", json={"username": "hohhot-wang", "password": PASSWORD})
        assert right.status_code == 423
        # The lockout ends (here: moved into the past), and the right password works again.
        await site.sql("UPDATE accounts SET locked_until = now() - interval '1 second'")
        assert (await sign_in(browser, "hohhot-wang"))["username"] == "hohhot-wang"
    [(failed,)] = await site.sql("SELECT failed_attempts FROM accounts")
    assert failed == 0
    actions = [r["action"] for r in await site.sql("SELECT action FROM account_changes ORDER BY change_id")]
    assert actions == ["created", "locked", "signed_in"]


async def test_totp_is_enrolled_then_required_and_a_code_is_good_once(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        me = await sign_in(browser, "hohhot-wang")
        enrolment = await browser.post("/api/v1/auth/totp", json={"password": PASSWORD}, headers=writes(me))
        assert enrolment.status_code == 200, enrolment.text
        secret = enrolment.json()["secret"]
        assert enrolment.json()["provisioning_uri"].startswith("otpauth://totp/")
        totp = pyotp.TOTP(secret)
        wrong = await browser.post("/api/v1/auth/totp/confirm", json={"code": "000000"}, headers=writes(me))
        assert wrong.status_code == 422
        confirmed = await browser.post("/api/v1/auth/totp/confirm", json={"code": totp.now()}, headers=writes(me))
        assert confirmed.status_code == 200 and confirmed.json()["totp_enabled"] is True
    [row] = await site.sql("SELECT totp_secret FROM accounts")
    assert secret not in row["totp_secret"]  # sealed with the field cipher

    async with site.browser() as browser:
        no_code = await browser.post("/api/v1/auth/session", json={"username": "hohhot-wang", "password": PASSWORD})
        assert no_code.status_code == 401 and no_code.json()["detail"][0]["type"] == "totp_required"
        # The code used to confirm is spent: wait for the next one.
        await site.sql("UPDATE accounts SET totp_last_step = $1", totp.timecode(datetime.now()) - 2)
        code = totp.now()
        me = await sign_in(browser, "hohhot-wang", totp_code=code)
        assert me["totp_enabled"] is True
    async with site.browser() as browser:
        replay = await browser.post(
            "/api/v1/auth/session", json={"username": "hohhot-wang", "password": PASSWORD, "totp_code": code}
        )
        assert replay.status_code == 401 and replay.json()["detail"][0]["type"] == "totp_invalid"


def _qr_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules (row, column) an SVG of segno's draws: its path of `M x y`, `m dx dy` and `h n` (n dark
    modules along the row at y - 0.5), less the quiet zone (the light background path starts at M0 0)."""
    [dark_path] = re.findall(r'<path class="totp-qr-line"[^>]* d="([^"]+)"', svg)
    border = 4
    x = y = 0.0
    found: set[tuple[int, int]] = set()
    for command, first, second in re.findall(r"([Mmh])(-?\d+(?:\.\d+)?)(?: (-?\d+(?:\.\d+)?))?", dark_path):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            found |= {(int(y - 0.5) - border, int(x) + i - border) for i in range(int(first))}
            x += float(first)
    return found


async def test_the_security_page_draws_the_enrolment_as_a_qr_code(site_factory, log_lines) -> None:
    """The otpauth address as a QR code, inline SVG without a style attribute or an XML declaration, beside the
    secret as text; the modules drawn are those of that very address (segno's matrix of it), the address is the
    secret's, and a code of it turns the factor on. Neither the secret nor the address is in any log line."""
    async with site_factory() as site, site.browser() as browser:
        await site.account("hohhot-wang", Role.city_officer, ["150100"])
        me = await sign_in(browser, "hohhot-wang")
        page = await browser.post(
            "/console/security/totp", data={"csrf_token": me["csrf_token"], "password": PASSWORD},
            headers={"Origin": ORIGIN},
        )  # fmt: skip
        assert page.status_code == 200, page.text
        [svg] = re.findall(r'<figure class="totp-qr-figure" id="totp-qr">(<svg .*?</svg>)', page.text, re.DOTALL)
        assert svg.startswith('<svg viewBox="') and 'class="totp-qr"' in svg
        assert "style" not in svg and "<?xml" not in svg and "<script" not in svg
        secret = re.findall(r'id="totp-secret">([^<]+)<', page.text)[0].replace(" ", "")
        uri = html.unescape(re.findall(r'id="totp-uri">([^<]+)<', page.text)[0])
        assert uri.startswith("otpauth://totp/") and pyotp.parse_uri(uri).secret == secret
        matrix = segno.make_qr(uri, error="m").matrix
        expected = {(r, c) for r, row in enumerate(matrix) for c, dark in enumerate(row) if dark}
        assert _qr_modules(svg) == expected and len(expected) > 300
        assert "default-src 'self'" in page.headers["content-security-policy"]
        confirmed = await browser.post(
            "/console/security/totp/confirm", data={"csrf_token": me["csrf_token"], "code": pyotp.TOTP(secret).now()},
            headers={"Origin": ORIGIN},
        )  # fmt: skip
        assert confirmed.status_code == 303 and confirmed.headers["location"] == "/console/security?done=1"
        done = await browser.get(confirmed.headers["location"])
        assert done.status_code == 200 and 'id="totp-done"' in done.text and 'id="totp-qr"' not in done.text
    assert log_lines and not [line for line in log_lines if secret in line or "otpauth" in line]


async def test_password_change_ends_every_session_and_keeps_this_browser_signed_in(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser, site.browser() as other:
        me = await sign_in(browser, "hohhot-wang")
        await sign_in(other, "hohhot-wang")
        refused = await browser.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=writes(me),
        )
        assert refused.status_code == 422 and refused.json()["detail"][0]["type"] == "password_policy"
        for bad in ("hohhot-wang-Abc-123", "alllowercaseletters", "Password1234"):
            answer = await browser.post(
                "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": bad}, headers=writes(me)
            )
            assert answer.status_code == 422, bad
        wrong_current = await browser.post(
            "/api/v1/auth/password",
            json={"current_password": "Not-the-password-9", "new_password": "Xin-mima-2026!"},
            headers=writes(me),
        )
        assert wrong_current.status_code == 401
        changed = await browser.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "Xin-mima-2026!"},
            headers=writes(me),
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["csrf_token"] != me["csrf_token"]
        assert (await browser.get("/api/v1/auth/me")).status_code == 200  # the renewed session
        assert (await other.get("/api/v1/auth/me")).status_code == 401  # every other one ended
    async with site.browser() as browser:
        await sign_in(browser, "hohhot-wang", "Xin-mima-2026!")


async def test_administrators_manage_accounts_within_their_regions(site) -> None:
    await site.account("nm-admin", Role.province_admin, ["150000"], display_name="赵敏")
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    await site.account("hlj-admin", Role.province_admin, ["230000"])
    async with site.browser() as admin, site.browser() as officer:
        me = await sign_in(admin, "nm-admin")
        made = await admin.post(
            "/api/v1/accounts",
            json={"username": "xincheng-li", "display_name": "李娜", "role": "county_officer", "regions": ["150102"]},
            headers=writes(me),
        )
        assert made.status_code == 201, made.text
        issued = made.json()
        assert issued["must_change_password"] is True and issued["created_by"] == "nm-admin"
        one_time = issued["one_time_password"]
        # Out of region: another province's account cannot be made, read or changed.
        elsewhere = await admin.post(
            "/api/v1/accounts",
            json={"username": "harbin-zhang", "display_name": "张强", "role": "city_officer", "regions": ["230100"]},
            headers=writes(me),
        )
        assert (
            elsewhere.status_code == 403
            and elsewhere.json()["detail"][0]["msg"] == "the region is outside your regions"
        )
        assert (await admin.get("/api/v1/accounts/hlj-admin")).status_code == 404
        moved = await admin.patch("/api/v1/accounts/hohhot-wang", json={"regions": ["230100"]}, headers=writes(me))
        assert moved.status_code == 403
        listed = await admin.get("/api/v1/accounts")
        assert [a["username"] for a in listed.json()["items"]] == ["hohhot-wang", "nm-admin", "xincheng-li"]
        # A non-administrator cannot manage accounts at all.
        officer_me = await sign_in(officer, "hohhot-wang")
        assert (await officer.get("/api/v1/accounts")).status_code == 403
        forbidden = await officer.post(
            "/api/v1/accounts",
            json={"username": "someone-else", "display_name": "某人", "role": "county_officer", "regions": ["150102"]},
            headers=writes(officer_me),
        )
        assert forbidden.status_code == 403
        # Role, regions and a reveal scope; then disabling ends the officer's session at once.
        changed = await admin.patch(
            "/api/v1/accounts/hohhot-wang",
            json={"regions": ["150100", "150200"], "extra_scopes": ["persons:reveal"]},
            headers=writes(me),
        )
        assert changed.status_code == 200 and changed.json()["regions"] == ["150100", "150200"]
        assert "persons:reveal" in (await officer.get("/api/v1/auth/me")).json()["scopes"]
        disabled = await admin.patch("/api/v1/accounts/hohhot-wang", json={"disabled": True}, headers=writes(me))
        assert disabled.status_code == 200 and disabled.json()["disabled"] is True
        assert (await officer.get("/api/v1/auth/me")).status_code == 401
        assert (
            await admin.patch("/api/v1/accounts/nm-admin", json={"disabled": True}, headers=writes(me))
        ).status_code == 403
        history = (await admin.get("/api/v1/accounts/hohhot-wang/history")).json()["items"]
        assert [h["action"] for h in history][:3] == ["disabled", "updated", "signed_in"]
        assert history[1]["changes"]["regions"] == {"old": ["150100"], "new": ["150100", "150200"]}
        assert history[1]["actor"] == "nm-admin"
        reset = await admin.patch("/api/v1/accounts/xincheng-li", json={"reset_password": True}, headers=writes(me))
        assert reset.json()["one_time_password"] not in (None, one_time)
    # The new account's one-time password must be changed before anything else.
    async with site.browser() as newcomer:
        first = await sign_in(newcomer, "xincheng-li", reset.json()["one_time_password"])
        assert first["must_change_password"] is True
        blocked = await newcomer.get("/api/v1/matcher/findings")
        assert blocked.status_code == 403 and blocked.json()["detail"][0]["type"] == "password_change_required"
        changed = await newcomer.post(
            "/api/v1/auth/password",
            json={"current_password": reset.json()["one_time_password"], "new_password": "Xin-Cheng-2026!"},
            headers=writes(first),
        )
        assert changed.status_code == 200 and changed.json()["must_change_password"] is False
        assert (await newcomer.get("/api/v1/matcher/findings")).status_code == 503  # through: matcher is down here


async def test_a_bureau_person_acts_for_its_feed_client(site) -> None:
    await site.account("nm-admin", Role.province_admin, ["150000"])
    async with site.browser() as admin:
        me = await sign_in(admin, "nm-admin")
        missing = await admin.post(
            "/api/v1/accounts",
            json={"username": "shebao-li", "display_name": "李娜", "role": "insurance_feed", "regions": ["150000"]},
            headers=writes(me),
        )
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "acts_for"]
        wider = await admin.post(
            "/api/v1/accounts",
            json={"username": "shebao-li", "display_name": "李娜", "role": "insurance_feed", "regions": ["150000"],
                  "acts_for": "hohhot-insurance-feed"},
            headers=writes(me),
        )  # fmt: skip
        assert wider.status_code == 422  # the client is Hohhot's; the person would reach the province
        made = await admin.post(
            "/api/v1/accounts",
            json={"username": "shebao-li", "display_name": "李娜", "role": "insurance_feed", "regions": ["150100"],
                  "acts_for": "hohhot-insurance-feed"},
            headers=writes(me),
        )  # fmt: skip
        assert made.status_code == 201, made.text
        taken = await admin.post(
            "/api/v1/accounts",
            json={"username": "hohhot", "display_name": "某人", "role": "city_officer", "regions": ["150100"]},
            headers=writes(me),
        )
        assert taken.status_code == 409  # a client's id: the access log names both by one column


async def test_the_access_log_records_a_persons_reads_under_their_username(site) -> None:
    await site.account("nm-admin", Role.province_admin, ["150000"], extra_scopes=(Scope.persons_reveal,))
    async with site.browser() as browser:
        me = await sign_in(browser, "nm-admin")
        looked_up = await browser.post(
            "/api/v1/persons/lookup", json={"id_number": "150102199003070015"}, headers=writes(me)
        )
        assert looked_up.status_code == 200, looked_up.text
        log = (await browser.get("/api/v1/audit/person-access")).json()["items"]
        assert [(e["client_id"], e["actor_kind"], e["action"]) for e in log] == [("nm-admin", "person", "lookup")]


async def test_suite_account_create_prints_a_one_time_password(site, gateway_db) -> None:
    command = [sys.executable, "-m", "kernel.cli", "account", "create", "hohhot-wang", "--role", "city_officer",
               "--region", "150100", "--display-name", "王建军"]  # fmt: skip
    environment = {**os.environ, "DATABASE_URL": gateway_db.url}
    made = await asyncio.to_thread(
        subprocess.run, command, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["created_by"] == "cli"
    password = made.stderr.strip().splitlines()[-1]
    async with site.browser() as browser:
        me = await sign_in(browser, "hohhot-wang", password)
        assert me["must_change_password"] is True and me["display_name"] == "王建军"


async def test_the_demo_accounts_sign_in_with_the_development_password(site, gateway_db, tmp_path) -> None:
    from devtools.demo_accounts import DEMO_ACCOUNTS, DEMO_PASSWORD, create_demo_accounts

    listing = tmp_path / "demo-accounts.json"
    await asyncio.to_thread(create_demo_accounts, gateway_db.url, listing)
    made = await asyncio.to_thread(create_demo_accounts, gateway_db.url, listing)  # a second run replaces them
    assert [a["username"] for a in made] == [d.username for d in DEMO_ACCOUNTS]
    assert {a["password"] for a in made} == {DEMO_PASSWORD} and oct(listing.stat().st_mode)[-3:] == "600"
    async with site.browser() as browser:
        me = await sign_in(browser, "nm-shebao", DEMO_PASSWORD)
        assert me["role"] == "insurance_feed" and me["acts_for"] == "demo-insurance-feed"
    async with site.browser() as browser:
        me = await sign_in(browser, "xincheng-officer", DEMO_PASSWORD)
        assert me["regions"] == ["150102"] and me["must_change_password"] is False
