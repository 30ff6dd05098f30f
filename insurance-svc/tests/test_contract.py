"""insurance-svc's public contract (issue 13): a person's contributions and statuses as pages, unknown query
parameters and bad cursors refused with a 422, and an example for every body that the service accepts."""

from __future__ import annotations

from devtools.feeds import person_key
from insurance_svc.main import create_app, service
from kernel.openapi import missing_examples, request_examples

API = "/api/v1/insurance"
ID_NUMBER = "150102199003070015"  # the examples' person


async def test_every_operation_has_examples_and_the_upload_examples_are_accepted(insurance) -> None:
    doc = create_app(service.load_settings()).openapi()
    assert missing_examples(doc) == []
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path in (f"{API}/contributions", f"{API}/person_statuses"):
        bodies = request_examples(doc, "POST", path)
        assert set(bodies) == {"text/csv", "application/x-ndjson", "application/json"}, path
        for media_type, body in bodies.items():
            response = await insurance.post(path, content=body, headers={"Content-Type": media_type})
            assert response.status_code == 201, (path, media_type, response.text)
            assert (response.json()["accepted"], response.json()["rejected"]) == (1, 0), (path, media_type)
    # What the examples recorded reads back as a page.
    ref = person_key(ID_NUMBER)
    months = (await insurance.get(f"{API}/persons/{ref}/contributions")).json()
    assert [(m["period"], m["insurance_types"]) for m in months["items"]] == [("2024-10", ["01"])]
    assert months["next_cursor"] is None
    statuses = (await insurance.get(f"{API}/persons/{ref}/person_statuses")).json()
    assert [(s["status"], s["since"]) for s in statuses["items"]] == [("retired", "2023-06-01")]


async def test_a_persons_months_are_paged(insurance) -> None:
    rows = [
        {
            "id_number": ID_NUMBER,
            "name": "张伟",
            "unit_uscc": uscc,
            "unit_name": name,
            "period": period,
            "region_code": "150105",
            "insurance_type": "01",
        }
        for period in ("2024-08", "2024-09", "2024-10")
        for uscc, name in (
            ("91150105MA0P4Q5R60", "呼和浩特市金桥劳务有限公司"),
            ("91150102MA0N1B2C35", "内蒙古恒泰建筑工程有限公司"),
        )
    ]
    assert (await insurance.post(f"{API}/contributions", json=rows)).status_code == 201
    path = f"{API}/persons/{person_key(ID_NUMBER)}/contributions"
    seen, cursor = [], None
    while True:
        page = (await insurance.get(path, params={"limit": "4", **({"cursor": cursor} if cursor else {})})).json()
        assert len(page["items"]) <= 4
        seen += [(m["period"], m["unit_uscc"]) for m in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == sorted((r["period"], r["unit_uscc"]) for r in rows)  # each once, in order

    bad = await insurance.get(path, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]
    unknown = await insurance.get(path, params={"period": "2024-10"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["query", "period"]
