"""What a service is to the suite: its declaration (ServiceSpec) and the app factory every service uses.

A service declares itself with a `ServiceSpec` exposed under the `guazheng.services` entry point;
the runner, the CLI and the tests find services there, so adding one edits no script.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from kernel import collector, values
from kernel.consumer import IdempotentConsumer
from kernel.credentials import DOCS_ASSETS, CredentialsMiddleware, ServiceAuth, verify_key
from kernel.db import Database
from kernel.errors import RejectNulMiddleware, install_error_handlers
from kernel.kafka import BrokerProbe
from kernel.logs import RequestIdMiddleware, configure_logging
from kernel.metrics import MetricsMiddleware, metrics_endpoint
from kernel.migrations import MigrationsNotAtHead, assert_at_head
from kernel.openapi import suite_openapi
from kernel.outbox import ChangeStream, OutboxRelay
from kernel.privacy import FieldCipher, Pseudonymizer
from kernel.settings import ServiceSettings

if TYPE_CHECKING:
    from kernel.internal import Replayer

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "guazheng.services"

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass
class Runtime(Generic[SettingsT]):
    """Long-lived resources of one running service, created and closed by its lifespan.

    Typed by the service's settings: `Runtime[MatcherSettings].settings` is a `MatcherSettings`.
    """

    spec: ServiceSpec[SettingsT]
    settings: SettingsT
    db: Database
    pseudonymizer: Pseudonymizer
    cipher: FieldCipher
    http: httpx.AsyncClient  # calls to other services, each signed with a service credential
    relay: OutboxRelay | None = None
    consumers: list[IdempotentConsumer] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    @classmethod
    def create(cls, spec: ServiceSpec[SettingsT], settings: SettingsT, db: Database) -> Runtime[SettingsT]:
        """The resources of a service's process on `db` (its lifespan's, or a helper process's), without the
        background tasks the lifespan adds."""
        return Runtime[SettingsT](
            spec=spec,
            settings=settings,
            db=db,
            pseudonymizer=Pseudonymizer(settings.pseudonym_pepper.get_secret_value().encode()),
            cipher=FieldCipher(settings.encryption_key_map, settings.encryption_active_key_id),
            http=httpx.AsyncClient(auth=ServiceAuth(settings.service_credential_secret.get_secret_value(), spec.name)),
        )

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.dispose()


class Worker(Protocol):
    """A background task of a service besides its relay and consumers."""

    name: str

    async def run(self) -> None: ...

    def stop(self) -> None: ...


ConsumerFactory = Callable[[Runtime[SettingsT]], Sequence[IdempotentConsumer]]
WorkerFactory = Callable[[Runtime[SettingsT]], Sequence[Worker]]


@dataclass(frozen=True)
class ServiceSpec(Generic[SettingsT]):
    """A service's declaration: enough for the runner, the CLI and the tests to run it."""

    name: str  # short name: CLI argument, database name, settings' service_name
    title: str  # e.g. "registry-svc"
    factory: str  # "package.main:create_app", an app factory taking optional settings
    port: int  # local port in the embedded run
    migrations: Path
    settings: type[SettingsT]  # ServiceSettings, or the service's subclass of it
    publishes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()  # topics; the services publishing them are its upstreams
    change_streams: tuple[ChangeStream, ...] = ()  # how bulk-written records become events
    feeds: Mapping[str, str] = field(default_factory=dict)  # record kind -> bulk ingest path (for --demo)

    def load_settings(self, **overrides: object) -> SettingsT:
        """The service's settings from the environment, `overrides` winning."""
        return self.settings.model_validate({"service_name": self.name, **overrides})


def upstream_urls(spec: ServiceSpec, urls: Mapping[str, str], specs: Mapping[str, ServiceSpec]) -> str:
    """UPSTREAM_URLS for `spec`: the base URLs (by service name in `urls`) of the services it consumes from."""
    return ",".join(
        urls[name] for name, other in specs.items() if name in urls and set(other.publishes) & set(spec.consumes)
    )


def discover_services() -> dict[str, ServiceSpec]:
    """Every installed service, by name, in port order."""
    specs = [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return {spec.name: spec for spec in sorted(specs, key=lambda s: s.port)}


# --- query parameters: an unknown one is refused, never silently dropped ---------------------------

_ANY_QUERY = "__accepts_any_query__"
EndpointT = TypeVar("EndpointT", bound=Callable[..., object])


def accepts_any_query(endpoint: EndpointT) -> EndpointT:
    """Marks a route that takes query parameters it does not declare (the gateway's forwarding route: the
    service behind it judges them)."""
    setattr(endpoint, _ANY_QUERY, True)
    return endpoint


def declared_query(dependant: Dependant) -> frozenset[str]:
    """The query parameter names a route declares, its dependencies' included (a query model's fields too)."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for param in current.query_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                names.update(f.alias or name for name, f in annotation.model_fields.items())
            else:
                names.add(param.alias)
    return frozenset(names)


_DECLARED = "kernel_declared_query"  # per route, worked out on its first request with a query


def reject_unknown_query(request: Request) -> None:
    """A dependency of every route (build_app): a query parameter the route does not declare is a 422 in the
    validation shape, `loc: ["query", name]` — a misspelt filter must not silently return everything."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    if not hasattr(route, _DECLARED):
        setattr(
            route, _DECLARED, None if getattr(route.endpoint, _ANY_QUERY, False) else declared_query(route.dependant)
        )
    allowed: frozenset[str] | None = getattr(route, _DECLARED)
    if allowed is None:
        return
    unknown = sorted({name for name in request.query_params if name not in allowed})
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise RequestValidationError(
            [
                {"type": "extra_forbidden", "msg": f"not a query parameter of this route (it takes: {takes})",
                 "loc": ("query", name)}
                for name in unknown
            ]
        )  # fmt: skip


# --- the API docs, served by the service itself: no script or style from a CDN (an intranet has none) -----

DOCS_OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def docs_page(title: str, openapi_url: str = "/openapi.json") -> HTMLResponse:
    """Swagger UI on `openapi_url`, its script, style and icon from this service (`DOCS_ASSETS`)."""
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        oauth2_redirect_url=DOCS_OAUTH2_REDIRECT,
        swagger_ui_parameters={"validatorUrl": None},  # the public validator's badge would load from outside
    )


def install_docs(app: FastAPI, title: str) -> None:
    """`/docs` (Swagger UI), `/redoc` and their assets, as the maintained PyPI package fastapi-offline ships
    them (Swagger UI 5, ReDoc 2): every URL the pages load is this service's."""
    app.mount(DOCS_ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return docs_page(f"{title} API")

    @app.get(DOCS_OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{title} API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def build_app(
    spec: ServiceSpec[SettingsT],
    settings: SettingsT,
    *,
    routers: Sequence[APIRouter],
    consumers: ConsumerFactory[SettingsT] | None = None,
    workers: WorkerFactory[SettingsT] | None = None,
    replayers: Mapping[str, Replayer] | None = None,
    description: str = "",
    verify_callers: bool = True,
) -> FastAPI:
    """The FastAPI app of a service: lifespan, health, metrics, errors, request ids, the internal
    endpoints (kernel.internal), its routers.

    `replayers` re-publish what the service owns, by stream: every service that publishes declares
    them, so a lost bus can be rebuilt from the databases. Every request needs a credential the
    service verifies (kernel.credentials) — except the gateway's public routes (`verify_callers=False`):
    it authenticates the outside world itself and speaks for it to the services.

    Every route refuses a query parameter it does not declare (`reject_unknown_query`), and the API
    description follows the suite's conventions (kernel.openapi: one error shape).
    """
    from kernel.internal import internal_router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(spec.title, settings.log_level)
        values.PLAUSIBLE.since, values.PLAUSIBLE.months_ahead = (
            settings.plausible_since,
            settings.plausible_months_ahead,
        )
        db = Database(settings)
        try:
            await assert_at_head(db.engine, spec.migrations)
        except MigrationsNotAtHead:
            await db.dispose()
            log.critical("refusing to start: database is not at the migration head")
            raise
        runtime = Runtime.create(spec, settings, db)
        app.state.runtime = runtime
        tasks: list[asyncio.Task[None]] = []
        if settings.outbox_relay_enabled and spec.publishes:
            streams = {stream.name: stream for stream in spec.change_streams}
            runtime.relay = OutboxRelay(settings, settings.database_url, list(spec.publishes), streams)
            tasks.append(asyncio.create_task(runtime.relay.run(), name="outbox-relay"))
        for consumer in consumers(runtime) if consumers else ():
            runtime.consumers.append(consumer)
            tasks.append(asyncio.create_task(consumer.run(), name=f"consumer-{consumer.name}"))
        for worker in workers(runtime) if workers else ():
            runtime.workers.append(worker)
            tasks.append(asyncio.create_task(worker.run(), name=f"worker-{worker.name}"))
        collector.freeze_startup()
        log.info("service started", extra={"tasks": [t.get_name() for t in tasks]})
        try:
            yield
        finally:
            for worker in reversed(runtime.workers):
                worker.stop()
            for consumer in reversed(runtime.consumers):
                consumer.stop()
            if runtime.relay:
                runtime.relay.stop()
            for task in reversed(tasks):
                try:
                    await asyncio.wait_for(task, timeout=10)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
                except Exception:
                    log.exception("background task ended with an error", extra={"task": task.get_name()})
            await runtime.close()
            log.info("service stopped")

    broker_probe = BrokerProbe(settings)
    app = FastAPI(
        title=spec.title,
        description=description,
        lifespan=lifespan,
        version="1",
        dependencies=[Depends(reject_unknown_query)],
        docs_url=None,  # FastAPI's pages load Swagger UI and ReDoc from a CDN: ours are local (install_docs)
        redoc_url=None,
    )
    install_docs(app, spec.title)
    install_error_handlers(app)
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(MetricsMiddleware, service=spec.title)
    app.add_middleware(
        CredentialsMiddleware,
        caller_key=verify_key(settings.caller_verify_key),
        service_secret=settings.service_credential_secret.get_secret_value(),
        internal_only=not verify_callers,  # the gateway's internal paths are guarded like every service's
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            await runtime.db.ping()
            checks["database"] = "ok"
            await assert_at_head(runtime.db.engine, spec.migrations)
            checks["migrations"] = "ok"
        except MigrationsNotAtHead:
            checks["migrations"] = "behind"
        except Exception:
            checks["database"] = "unreachable"
        if runtime.relay or runtime.consumers:
            checks["broker"] = "ok" if await broker_probe.reachable() else "unreachable"
        if runtime.relay and runtime.relay.failing:
            checks["outbox-relay"] = "failing"
        for consumer in runtime.consumers:
            state = "failing" if consumer.failing else "ok" if consumer.connected else "not connected"
            checks[f"consumer:{consumer.name}"] = state
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)

    app.include_router(
        internal_router(
            spec.name, publishes=bool(spec.publishes), consumes=consumers is not None, replayers=replayers or {}
        )
    )
    for router in routers:
        app.include_router(router)
    app.openapi = lambda: suite_openapi(app)  # type: ignore[method-assign]
    return app
