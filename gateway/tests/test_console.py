"""The console's sign-in, in a real headless Chromium (Debian's, driven by Playwright) against the gateway over
HTTP: a good password, a wrong one (the Chinese message), the lockout, a TOTP code, the one-time password's
change, signing out. Every page visited is saved in `screenshots/console-sign-in/`. And the pages' headers."""

from __future__ import annotations

from datetime import datetime

import httpx
import pyotp
from people_helpers import ORIGIN, PASSWORD

from devtools.browser import open_browser
from gateway_svc.roles import Role

FOLDER = "console-sign-in"


async def _sign_in(page, username: str, password: str, code: str = "") -> None:
    await page.goto("/console/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    if code:
        await page.fill("#totp_code", code)
    async with page.expect_navigation():
        await page.click("button[type=submit]")


async def test_officers_sign_in_and_out_in_a_browser(served_site) -> None:
    async with served_site() as (site, url), open_browser(FOLDER) as browser:
        await site.account("hohhot-wang", Role.city_officer, ["150100"], display_name="王建军")
        await site.account("xincheng-li", Role.county_officer, ["150102"], display_name="李娜")
        await site.account("huimin-ma", Role.county_officer, ["150103"], display_name="马丽",
                           password="Yi-ci-xing-Mima-7", must_change_password=True)  # fmt: skip

        # A good password: the overview says who is signed in; signing out returns to the sign-in page.
        page = await browser.page("01-good-password", base_url=url)
        await _sign_in(page, "hohhot-wang", PASSWORD)
        assert page.url == f"{url}/console/"
        assert await page.text_content("#who-name") == "王建军"
        assert "盟市工作人员" in await page.text_content("header")
        async with page.expect_navigation():
            await page.click("#sign-out")
        assert page.url.startswith(f"{url}/console/login")
        assert "您已安全退出" in await page.text_content("main")
        await page.goto("/console/")
        assert page.url == f"{url}/console/login"  # signed out: the overview sends back to sign in

        # A wrong password: the error in Chinese, no session.
        page = await browser.page("02-wrong-password", base_url=url)
        await _sign_in(page, "hohhot-wang", "Not-my-password-1")
        assert await page.text_content("#login-error") == "用户名或密码错误。"
        assert not [c for c in await page.context.cookies() if c["name"] == "guazheng_session"]

        # Five wrong passwords lock the account; the page says until when.
        page = await browser.page("03-lockout", base_url=url)
        for attempt in range(5):
            await _sign_in(page, "xincheng-li", f"Wrong-password-{attempt}")
        message = await page.text_content("#login-error")
        assert "账户已被暂时锁定" in message and "北京时间" in message
        await _sign_in(page, "xincheng-li", PASSWORD)
        assert "账户已被暂时锁定" in await page.text_content("#login-error")

        # A one-time password leads to the password page first.
        page = await browser.page("04-one-time-password", base_url=url)
        await _sign_in(page, "huimin-ma", "Yi-ci-xing-Mima-7")
        assert page.url == f"{url}/console/password"
        await page.fill("#current_password", "Yi-ci-xing-Mima-7")
        await page.fill("#new_password", "onlylowercaseletters")
        async with page.expect_navigation():
            await page.click("button.primary")
        assert "新密码不符合要求" in await page.text_content("#password-error")
        await page.fill("#current_password", "Yi-ci-xing-Mima-7")
        await page.fill("#new_password", "Hui-Min-Qu-2026!")
        async with page.expect_navigation():
            await page.click("button.primary")
        assert page.url == f"{url}/console/" and await page.text_content("#who-name") == "马丽"

        # TOTP: enrolled through the API, then the sign-in page asks for the code and takes it.
        async with httpx.AsyncClient(base_url=url) as api:
            me = (await api.post("/api/v1/auth/session", json={"username": "hohhot-wang", "password": PASSWORD})).json()
            writes = {"Origin": url, "X-CSRF-Token": me["csrf_token"]}
            secret = (await api.post("/api/v1/auth/totp", json={"password": PASSWORD}, headers=writes)).json()["secret"]
            totp = pyotp.TOTP(secret)
            confirmed = await api.post("/api/v1/auth/totp/confirm", json={"code": totp.now()}, headers=writes)
            assert confirmed.status_code == 200
        await site.sql("UPDATE accounts SET totp_last_step = $1", totp.timecode(datetime.now()) - 2)
        page = await browser.page("05-totp", base_url=url)
        await _sign_in(page, "hohhot-wang", PASSWORD)
        assert "请输入验证器应用显示的 6 位数字" in await page.text_content("#login-error")
        await _sign_in(page, "hohhot-wang", PASSWORD, totp.now())
        assert page.url == f"{url}/console/"
        assert "已启用" in await page.text_content("main")

    taken = {name: len(shots.taken) for name, shots in browser.shots.items()}
    assert all(count >= 2 for count in taken.values()), taken
    assert all(path.stat().st_size > 1000 for shots in browser.shots.values() for path in shots.taken)


async def test_console_pages_carry_the_security_headers(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        login = await browser.get("/console/login")
        assert login.status_code == 200 and "挂证专项治理工作台" in login.text
        csp = login.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert login.headers["x-frame-options"] == "DENY"
        assert login.headers["referrer-policy"] == "same-origin"
        assert login.headers["cache-control"] == "no-store"
        assert "<script" not in login.text and "http" not in login.text.split("<body", 1)[1]  # nothing from elsewhere
        style = await browser.get("/console/static/console.css")
        assert style.status_code == 200 and "max-age" in style.headers["cache-control"]
        assert (await browser.get("/console/")).headers["location"] == "/console/login"
        # A form sign-in answers with a redirect (the page works without script), to the overview.
        signed_in = await browser.post(
            "/api/v1/auth/session",
            data={"username": "hohhot-wang", "password": PASSWORD, "totp_code": ""},
            headers={"Origin": ORIGIN},
        )
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/"
        overview = await browser.get("/console/")
        assert overview.status_code == 200 and "王建军" in overview.text
        assert overview.headers["cache-control"] == "no-store"
        # The sign-out form needs this session's CSRF token.
        forged = await browser.post("/console/logout", data={"csrf_token": "x"}, headers={"Origin": ORIGIN})
        assert "请求来源无法验证" in forged.text
        assert (await browser.get("/api/v1/auth/me")).status_code == 200
        docs = (await browser.get("/openapi.json")).json()
        assert not [path for path in docs["paths"] if path.startswith("/console")]
        assert "/api/v1/auth/session" in docs["paths"] and "/api/v1/accounts/{username}" in docs["paths"]
