"""Prometheus metrics of a service, served at /metrics."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"])
INGEST_ROWS = Counter("ingest_rows_total", "Rows received by bulk ingest", ["service", "feed", "outcome"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Events published from the outbox", ["service"])
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox rows waiting (0 when the relay found none)", ["service"])
OUTBOX_LAST_PUBLISH = Gauge("outbox_last_publish_timestamp_seconds", "When the relay last published", ["service"])
CONSUMED_EVENTS = Counter("consumer_events_total", "Events consumed", ["service", "consumer", "outcome"])


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts requests by route template (not raw path: paths may carry person references)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, template).observe(time.perf_counter() - started)
