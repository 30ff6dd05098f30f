"""JSON logs with the request id, and a last line of defence that masks ID numbers, and names searched for
in a query string, in any log line."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid
from datetime import UTC, datetime

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.privacy import mask_id_number

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# 18-character resident ID shapes anywhere in text; masking them costs little and a leak costs much.
# Redaction runs on the JSON line, so an ID right after an escape (`\n`, `\t`, `\u001f`) counts too.
_ID_SHAPE = re.compile(r"(?:(?<![0-9A-Za-z])|(?<=\\[bfnrt])|(?<=\\u[0-9a-fA-F]{4}))\d{17}[\dXx](?![0-9A-Za-z])")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


# Query parameters whose values are personal data (a name searched for: GET /api/v1/cases?person_name=…):
# a request line in an access log shows them as ***.
PERSONAL_QUERY_PARAMETERS = ("person_name",)
_PERSONAL_QUERY = re.compile(rf"(?<=[?&])({'|'.join(PERSONAL_QUERY_PARAMETERS)})=[^&\s\"\\]*")


def redact(text: str) -> str:
    text = _PERSONAL_QUERY.sub(r"\1=***", text)
    return _ID_SHAPE.sub(lambda m: mask_id_number(m.group(0).upper()), text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := request_id.get():
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(entry, default=str).decode())


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for noisy in ("aiokafka", "alembic"):  # alembic narrates every readiness check's head comparison
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # Except a consumer group's joins and assignments: rare, and what an operator asks after a fault.
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(root.level)


class RequestIdMiddleware:
    """Takes `X-Request-ID` from the caller (the gateway) or makes one, and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 128 else uuid.uuid4().hex
        token = request_id.set(rid)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_id.reset(token)
