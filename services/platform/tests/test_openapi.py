"""The suite's API conventions as the kernel checks them: unknown query parameters refused (a route's own,
its dependencies' and a query model's fields are known), one error shape in the description, and the
checks the services' tests run on their documents (examples, list and error shapes)."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, ConfigDict

from kernel.errors import install_error_handlers
from kernel.openapi import missing_examples, one_error_shape, request_examples, shape_violations
from kernel.paging import Cursor, Limit, Page
from kernel.service import accepts_any_query, reject_unknown_query


class Filters(BaseModel):
    kind: str | None = None
    size_min: int | None = Query(None, alias="size-min")


class Item(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "内蒙古恒泰建筑工程有限公司"}]})

    name: str


def shared(region_code: str = "000000") -> str:
    return region_code


def app() -> FastAPI:
    made = FastAPI(dependencies=[Depends(reject_unknown_query)])
    install_error_handlers(made)

    @made.get("/items", response_model=Page[Item])
    async def items(region: Annotated[str, Depends(shared)], cursor: Cursor = None, limit: Limit = 10) -> Page[Item]:
        return Page[Item](items=[], next_cursor=None)

    @made.get("/models")
    async def models(filters: Annotated[Filters, Query()]) -> dict[str, str]:
        return {}

    @made.get("/bare", response_model=list[Item])
    async def bare() -> list[Item]:
        return []

    @made.get("/anything/{path:path}")
    @accepts_any_query
    async def anything(path: str) -> dict[str, str]:
        return {}

    return made


async def get(path: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://t") as client:
        return await client.get(path, params=params)


async def test_a_query_parameter_a_route_does_not_declare_is_a_422() -> None:
    assert (await get("/items", region_code="150100", cursor="", limit="5")).status_code == 200  # a dependency's
    refused = await get("/items", region="150100", limit="5")  # the dependency's argument name is no parameter
    assert refused.status_code == 422
    assert refused.json() == {
        "detail": [
            {
                "type": "extra_forbidden",
                "msg": "not a query parameter of this route (it takes: cursor, limit, region_code)",
                "loc": ["query", "region"],
            }
        ]
    }
    assert (await get("/models", kind="x", **{"size-min": "3"})).status_code == 200  # a query model's fields
    assert (await get("/models", size_min="3")).json()["detail"][0]["loc"] == ["query", "size_min"]
    assert (await get("/anything/at/all", whatever="1")).status_code == 200  # a route that forwards


def test_the_description_has_one_error_shape_and_is_checked() -> None:
    doc = one_error_shape(app().openapi())
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert doc["paths"]["/items"]["get"]["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    # A page's example is made from its item's; the other operations have none.
    assert schemas["Page_Item_"]["examples"][0]["items"] == [{"name": "内蒙古恒泰建筑工程有限公司"}]
    assert missing_examples(doc) == [
        f"GET {path}: response 200 (application/json)" for path in ("/models", "/bare", "/anything/{path}")
    ]
    assert shape_violations(doc) == ["GET /bare 200: a bare array, not a page"]
    assert shape_violations(app().openapi()) == [  # FastAPI's own error schema is another shape
        "GET /items 422: an error that is not ErrorBody",
        "GET /models 422: an error that is not ErrorBody",
        "GET /bare 200: a bare array, not a page",
        "GET /anything/{path} 422: an error that is not ErrorBody",
    ]


def test_request_examples_are_what_would_be_sent() -> None:
    doc = {
        "paths": {
            "/upload": {
                "post": {
                    "requestBody": {
                        "content": {
                            "text/csv": {"example": "a,b\n1,2\n"},
                            "application/json": {"examples": {"one": {"value": [{"a": "1"}]}}},
                        }
                    }
                }
            }
        }
    }
    assert request_examples(doc, "POST", "/upload") == {"text/csv": b"a,b\n1,2\n", "application/json": b'[{"a":"1"}]'}
