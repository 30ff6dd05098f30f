"""Every service's API docs are its own (kernel.service.install_docs): /docs and /redoc name only this service's
URLs — Swagger UI's and ReDoc's script, style and icon from the fastapi-offline package, the description — and
each answers without a credential, as the description does; nothing is loaded from a CDN (an intranet has none)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from kernel.service import ServiceSpec, build_app
from kernel.settings import ServiceSettings

# Every URL a page names: attributes, Swagger UI's `url: '…'`, ReDoc's `spec-url`.
NAMED = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|\burl:\s*'([^']+)'""")
SPEC = ServiceSpec(name="example", title="example-svc", factory="", port=0, migrations=Path(), settings=ServiceSettings)


def named_urls(html: str) -> list[str]:
    return [next(filter(None, match.groups())) for match in NAMED.finditer(html)]


async def test_the_docs_pages_name_only_their_services_urls_and_each_answers() -> None:
    app = build_app(SPEC, SPEC.load_settings(), routers=[])
    # No credential at all: the docs are open (kernel.credentials.OPEN_PATHS), the rest is not.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        seen = set()
        for page in ("/docs", "/redoc"):
            response = await client.get(page)
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
            assert "cdn" not in response.text.lower() and "googleapis" not in response.text
            urls = named_urls(response.text)
            assert urls, response.text
            for url in urls:
                assert url.startswith("/") and not url.startswith("//"), f"{page} names {url}"
                answer = await client.get(url)
                assert answer.status_code == 200 and answer.content, url
                seen.add(url)
        assert {
            "/docs/static/swagger-ui-bundle.js",
            "/docs/static/swagger-ui.css",
            "/docs/static/redoc.standalone.js",
            "/openapi.json",
        } <= seen
        assert "validatorUrl" in (await client.get("/docs")).text  # the public validator's badge is off
        assert (await client.get("/docs/oauth2-redirect")).status_code == 200
        # Only the assets are open, not the service's other paths under another name.
        assert (await client.get("/docs/static/missing.js")).status_code == 404
        assert (await client.get("/metrics")).status_code == 401
