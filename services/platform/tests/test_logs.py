"""JSON logs: the request id, the masking of ID numbers in any log line, and X-Request-ID echo."""

from __future__ import annotations

import io
import logging
import uuid

import httpx
import orjson
from fastapi import FastAPI

from domain.identifiers import id_check_char
from kernel.logs import JsonFormatter, RequestIdMiddleware, request_id


def _id_number(first17: str = "15010219900307123") -> str:
    return first17 + id_check_char(first17)


ID = _id_number()
ID_X = next(_id_number(f"1501021985010{n:04d}") for n in range(10_000) if id_check_char(f"1501021985010{n:04d}") == "X")


def _logger() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test-svc"))
    logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


def _lines(stream: io.StringIO) -> list[dict]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_output_with_request_id_when_set():
    logger, stream = _logger()
    logger.info("no request here")
    token = request_id.set("req-123")
    try:
        logger.warning("inside a request", extra={"rows": 5})
    finally:
        request_id.reset(token)
    first, second = _lines(stream)
    assert first["message"] == "no request here"
    assert "request_id" not in first
    assert first["service"] == "test-svc" and first["level"] == "INFO"
    assert second["request_id"] == "req-123"
    assert second["rows"] == 5 and second["level"] == "WARNING"
    assert second["logger"] == logger.name and "time" in second


def test_id_number_in_message_is_masked():
    logger, stream = _logger()
    logger.info("lookup of %s failed", ID)
    logger.info("身份证号%s，姓名张三", ID_X)
    logger.info("lower-case check char %s", ID_X.lower())
    logger.info("after a line break\n%s\tand a tab", ID)
    logger.info("after a control character\x1f%s", ID_X)
    text = stream.getvalue()
    assert ID not in text and ID_X not in text and ID_X.lower() not in text
    messages = [line["message"] for line in _lines(stream)]
    assert messages[0] == f"lookup of {ID[:6]}{'*' * 10}{ID[16:]} failed"
    assert f"{ID_X[:6]}{'*' * 10}{ID_X[16:]}" in messages[1]
    assert f"{ID_X[:6]}{'*' * 10}{ID_X[16:]}" in messages[2]
    assert f"\n{ID[:6]}{'*' * 10}{ID[16:]}\t" in messages[3]
    assert messages[4].endswith(f"\x1f{ID_X[:6]}{'*' * 10}{ID_X[16:]}")


def test_id_number_in_extra_field_and_exception_is_masked():
    logger, stream = _logger()
    logger.info("row rejected", extra={"id_number": ID, "row": {"nested": [ID_X]}})
    try:
        raise ValueError(f"bad value {ID}")
    except ValueError:
        logger.exception("failed")
    text = stream.getvalue()
    assert ID not in text and ID_X not in text
    first, second = _lines(stream)
    assert first["id_number"] == f"{ID[:6]}{'*' * 10}{ID[16:]}"
    assert "exception" in second and "ValueError" in second["exception"]


def test_longer_digit_runs_are_not_mangled():
    logger, stream = _logger()
    long_number = "1234567890123456789012"  # 22 digits: not an ID number
    logger.info("offset %s", long_number)
    assert _lines(stream)[0]["message"] == f"offset {long_number}"


async def test_request_id_middleware_echoes_and_creates_ids():
    app = FastAPI()
    seen: list[str | None] = []

    @app.get("/ping")
    async def ping() -> dict:
        seen.append(request_id.get())
        return {"ok": True}

    app.add_middleware(RequestIdMiddleware)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        echoed = await client.get("/ping", headers={"X-Request-ID": "from-gateway-42"})
        made = await client.get("/ping")
        too_long = await client.get("/ping", headers={"X-Request-ID": "x" * 200})
    assert echoed.headers["x-request-id"] == "from-gateway-42"
    assert seen[0] == "from-gateway-42"
    assert made.headers["x-request-id"] and made.headers["x-request-id"] == seen[1]
    assert len(made.headers["x-request-id"]) == 32
    assert too_long.headers["x-request-id"] != "x" * 200 and too_long.headers["x-request-id"] == seen[2]
    assert request_id.get() is None  # reset after the request
