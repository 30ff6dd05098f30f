"""fund-svc's public contract (issue 13): a person's deposits as a page, unknown query parameters refused with
a 422, and an example for every body that the service accepts."""

from __future__ import annotations

from devtools.feeds import person_key
from fund_svc.main import create_app, service
from kernel.openapi import missing_examples, request_examples

API = "/api/v1/fund"


async def test_every_operation_has_examples_and_the_upload_examples_are_accepted(fund) -> None:
    doc = create_app(service.load_settings()).openapi()
    assert missing_examples(doc) == []
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    bodies = request_examples(doc, "POST", f"{API}/deposits")
    assert set(bodies) == {"text/csv", "application/x-ndjson", "application/json"}
    for media_type, body in bodies.items():
        response = await fund.post(f"{API}/deposits", content=body, headers={"Content-Type": media_type})
        assert response.status_code == 201, (media_type, response.text)
        assert (response.json()["accepted"], response.json()["rejected"]) == (1, 0), media_type
    path = f"{API}/persons/{person_key('150102199003070015')}/deposits"
    page = (await fund.get(path)).json()
    assert [(m["period"], m["unit_name"]) for m in page["items"]] == [("2024-10", "呼和浩特市金桥劳务有限公司")]
    assert page["next_cursor"] is None
    unknown = await fund.get(path, params={"limit": "5", "unit_uscc": "91150105MA0P4Q5R60"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["query", "unit_uscc"]
