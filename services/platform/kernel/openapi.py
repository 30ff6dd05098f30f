"""The suite's conventions for API descriptions: one error shape, and an example for every body.

Every service's `/openapi.json` (kernel.service.build_app) and the gateway's merged document describe
errors with one schema, `ErrorBody` (kernel.errors: `{"detail": [{"type", "msg", "loc"}]}`), instead of
FastAPI's `HTTPValidationError`; `missing_examples` names the operations whose request body or success
response has no example (each service's tests require none).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

REF = "#/components/schemas/"
ERROR_BODY = "ErrorBody"
ERROR_BODY_SCHEMA: dict[str, Any] = {
    "title": ERROR_BODY,
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "msg", "loc"],
                "properties": {
                    "type": {"type": "string"},
                    "msg": {"type": "string"},
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                },
            },
        }
    },
    "description": "Every error of the suite: FastAPI's validation shape, never echoing the request's input.",
    "examples": [
        {"detail": [{"type": "extra_forbidden", "msg": "not a query parameter of this route", "loc": ["query", "x"]}]}
    ],
}
# FastAPI's own validation-error schemas: replaced by ErrorBody (the same shape, one name).
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def one_error_shape(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with FastAPI's validation-error schemas replaced by `ErrorBody`."""
    schemas = doc.get("components", {}).get("schemas", {})
    if not any(name in schemas for name in _FASTAPI_ERRORS):
        return doc
    text = orjson.dumps(doc).decode()
    for name in _FASTAPI_ERRORS:
        text = text.replace(f'"{REF}{name}"', f'"{REF}{ERROR_BODY}"')
    doc = orjson.loads(text)
    schemas = doc["components"]["schemas"]
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas[ERROR_BODY] = ERROR_BODY_SCHEMA
    return doc


def suite_openapi(app: FastAPI) -> dict[str, Any]:
    """A service's document (made once): FastAPI's, with the suite's one error shape."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        app.openapi_schema = one_error_shape(doc)
    return app.openapi_schema


# --- examples -----------------------------------------------------------------------------------


def _has_example(media: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if media.get("example") is not None or media.get("examples"):
        return True
    schema = media.get("schema", {})
    seen: set[str] = set()
    while "$ref" in schema and schema["$ref"] not in seen:
        seen.add(schema["$ref"])
        schema = schemas.get(schema["$ref"].removeprefix(REF), {})
    return bool(schema.get("examples")) or schema.get("example") is not None


def missing_examples(doc: dict[str, Any]) -> list[str]:
    """`METHOD path: what` for every request body and success response (2xx, JSON or not) without an
    example, in its media type or in the schema it names."""
    schemas = doc.get("components", {}).get("schemas", {})
    missing = []
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method not in {"get", "post", "put", "patch", "delete"}:
                continue
            where = f"{method.upper()} {path}"
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                if not _has_example(media, schemas):
                    missing.append(f"{where}: request body ({media_type})")
            for status, response in operation.get("responses", {}).items():
                if not str(status).startswith("2"):
                    continue
                for media_type, media in response.get("content", {}).items():
                    if not _has_example(media, schemas):
                        missing.append(f"{where}: response {status} ({media_type})")
    return missing


def request_examples(doc: dict[str, Any], method: str, path: str) -> dict[str, bytes]:
    """The example request body of an operation per media type, as it would be sent (for tests that send
    them: an example the service refuses is no example)."""
    content = doc["paths"][path][method.lower()].get("requestBody", {}).get("content", {})
    bodies = {}
    for media_type, media in content.items():
        example = media.get("example")
        if example is None and media.get("examples"):
            example = next(iter(media["examples"].values())).get("value")
        if example is not None:
            bodies[media_type] = example.encode() if isinstance(example, str) else orjson.dumps(example)
    return bodies


def _resolved(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    seen: set[str] = set()
    while "$ref" in schema and schema["$ref"] not in seen:
        seen.add(schema["$ref"])
        schema = schemas.get(schema["$ref"].removeprefix(REF), {})
    return schema


def shape_violations(doc: dict[str, Any]) -> list[str]:
    """`METHOD path status: what` for every JSON answer off the suite's shapes: a success that is a bare array
    or a list that is not a page (`{items, next_cursor}` exactly), an error that is not `ErrorBody`."""
    schemas = doc.get("components", {}).get("schemas", {})
    found = []
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is None:
                    continue
                where = f"{method.upper()} {path} {status}"
                if str(status).startswith("2"):
                    resolved = _resolved(schema, schemas)
                    properties = resolved.get("properties", {})
                    if resolved.get("type") == "array":
                        found.append(f"{where}: a bare array, not a page")
                    elif "items" in properties and set(properties) != {"items", "next_cursor"}:
                        found.append(f"{where}: a list that is not a page")
                elif schema != {"$ref": REF + ERROR_BODY}:
                    found.append(f"{where}: an error that is not {ERROR_BODY}")
    return found
