"""gateway: the one public entrance of the suite — tokens, scopes, region scoping, limits, audit, routing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from gateway_svc import account_api, api, labels, proxy
from gateway_svc.clients import load_clients
from gateway_svc.console import pages, views
from gateway_svc.cors import install_cors
from gateway_svc.deps import Gateway, GatewayDep
from gateway_svc.openapi import MergedOpenAPI
from gateway_svc.ratelimit import RateLimiter
from gateway_svc.refusals import install_refusal_handler
from gateway_svc.settings import GatewaySettings
from kernel.credentials import ServiceAuth, signing_key
from kernel.service import ServiceSpec, build_app, docs_page

service = ServiceSpec(
    name="gateway",
    title="gateway",
    factory="gateway_svc.main:create_app",
    port=8100,
    migrations=Path(__file__).parent / "migrations",
    settings=GatewaySettings,
)

# FastAPI's own document would describe the gateway alone; ours is merged (gateway.openapi), and so is the
# document the docs page shows (the kernel's /redoc and the assets serve as they are).
_FASTAPI_DOCS = {"/openapi.json", "/docs"}


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or service.load_settings()
    clients = load_clients(settings)  # a malformed client entry stops the start, not the first login
    # The gateway's routes first: the forwarding route catches everything else under /api/v1.
    app = build_app(
        service,
        settings,
        routers=[api.router, account_api.router, labels.router, pages.router, views.router, proxy.router],
        description="The suite's public entrance.",
        verify_callers=False,  # it authenticates the outside world itself (tokens.py)
    )
    install_refusal_handler(app)
    app.mount(f"{pages.PREFIX}/static", StaticFiles(directory=pages.STATIC), name="console-static")
    app.add_middleware(pages.SecurityHeaders)
    install_cors(app, settings.cors_origins)  # outermost: CORS_ORIGINS only (cors.py)
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in _FASTAPI_DOCS]
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_lifespan(app):
            timeout = httpx.Timeout(settings.upstream_read_timeout, connect=settings.upstream_connect_timeout)
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
            async with httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False) as http:
                app.state.gateway = Gateway(
                    clients=clients,
                    http=http,
                    limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
                    openapi=MergedOpenAPI(settings, http),
                    caller_key=signing_key(settings.caller_signing_key.get_secret_value()),
                    service_auth=ServiceAuth(settings.service_credential_secret.get_secret_value(), service.name),
                )
                yield

    app.router.lifespan_context = lifespan

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request, gateway: GatewayDep) -> JSONResponse:
        return JSONResponse(await gateway.openapi.document(request.app))

    @app.get(pages.PREFIX, include_in_schema=False)
    async def console() -> RedirectResponse:
        return RedirectResponse(f"{pages.PREFIX}/", status_code=308)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return docs_page("挂证 suite API")  # Swagger UI from the gateway itself (kernel.service.install_docs)

    return app
