"""For dashboard builders: the labels of the suite's codes and the national division list (`GET /api/v1/labels`,
`…/labels/regions`) for any authenticated caller, from the one place each lives, cached by tag; and the API docs
page served with nothing from outside."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args

from people_helpers import sign_in

from case_svc.cases import schemas as case_schemas
from case_svc.cases import workflow
from domain import cases, categories, findings, identifiers, records
from gateway_svc.roles import Role
from kernel.openapi import missing_examples, shape_violations
from matcher_svc import domain as matcher_domain
from matcher_svc import schemas as matcher_schemas

LABELS, REGIONS = "/api/v1/labels", "/api/v1/labels/regions"


def codes(table: list[dict]) -> list[str]:
    return [label["code"] for label in table]


async def test_any_authenticated_caller_reads_the_labels_and_nobody_else(gateway, token_of) -> None:
    answers = []
    for client in ("hohhot-fund-feed", "dashboard", "hohhot-county"):  # no scope is needed: a feed has none of
        response = await gateway.get(LABELS, headers=await token_of(gateway, client))  # the officers'
        assert response.status_code == 200, response.text
        answers.append(response.content)
    assert len(set(answers)) == 1  # the same for everyone
    anonymous = await gateway.get(LABELS, auth=None)
    assert anonymous.status_code == 401
    assert (await gateway.get(REGIONS, auth=None)).status_code == 401
    forged = await gateway.get(LABELS, headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401


async def test_a_signed_in_person_reads_them_too(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        await sign_in(browser, "hohhot-wang")
        response = await browser.get(LABELS)
        assert response.status_code == 200
        assert {"code": "SI_NONE", "zh": "无社保", "en": "No social insurance"} in response.json()["rules"]


async def test_the_labels_are_the_codes_tables_where_they_live(gateway, token_of) -> None:
    body = (await gateway.get(LABELS, headers=await token_of(gateway, "dashboard"))).json()
    expected: dict[str, tuple[Mapping[Any, str], Mapping[Any, str]]] = {
        "rules": (findings.RULE_LABELS, findings.RULE_LABELS_EN),
        "exemptions": (findings.EXEMPTION_LABELS, findings.EXEMPTION_LABELS_EN),
        "finding_statuses": (findings.FINDING_STATUS_LABELS, findings.FINDING_STATUS_LABELS_EN),
        "case_statuses": (cases.STATUS_LABELS, cases.STATUS_LABELS_EN),
        "case_actions": (cases.ACTION_LABELS, cases.ACTION_LABELS_EN),
        "case_levels": (cases.LEVEL_LABELS, cases.LEVEL_LABELS_EN),
        "case_outcomes": (cases.OUTCOME_LABELS, cases.OUTCOME_LABELS_EN),
        "registration_categories": (categories.CATEGORY_LABELS, categories.CATEGORY_LABELS_EN),
        "registration_statuses": (records.REGISTRATION_STATUS_LABELS, records.REGISTRATION_STATUS_LABELS_EN),
        "person_statuses": (records.PERSON_STATUS_LABELS, records.PERSON_STATUS_LABELS_EN),
        "insurance_types": (records.INSURANCE_TYPE_LABELS, records.INSURANCE_TYPE_LABELS_EN),
        "unit_kinds": (identifiers.UNIT_KIND_LABELS, identifiers.UNIT_KIND_LABELS_EN),
        "feed_kinds": (records.RECORD_KIND_LABELS, records.RECORD_KIND_LABELS_EN),
    }
    assert set(body) == set(expected)
    for name, (zh, en) in expected.items():
        assert body[name] == [{"code": str(code), "zh": zh[code], "en": en[code]} for code in zh], name
    # Every code of each enumeration has its label, in both languages.
    assert codes(body["rules"]) == list(findings.Rule)
    assert codes(body["exemptions"]) == list(findings.Exemption)
    assert codes(body["case_statuses"]) == list(cases.CaseStatus)
    assert codes(body["case_actions"]) == list(cases.Action)
    assert codes(body["case_outcomes"]) == list(cases.Outcome)
    assert codes(body["registration_categories"]) == list(categories.Category)
    assert codes(body["registration_statuses"]) == list(records.RegistrationStatus)
    assert codes(body["person_statuses"]) == list(records.PersonStatus)
    assert codes(body["unit_kinds"]) == list(identifiers.UnitKind)
    assert codes(body["feed_kinds"]) == list(records.RecordKind)
    assert all(label["en"] for table in body.values() for label in table)
    # One place: the services use these very enumerations, and their API literals name the same codes.
    assert matcher_domain.Rule is findings.Rule and matcher_domain.Exemption is findings.Exemption
    assert workflow.CaseStatus is cases.CaseStatus and workflow.STATUS_LABELS is cases.STATUS_LABELS
    assert set(get_args(matcher_schemas.FindingStatus)) == set(findings.FindingStatus)
    assert set(get_args(case_schemas.Exemption)) == set(findings.Exemption)


async def test_static_answers_carry_a_tag_and_a_held_one_is_304(gateway, token_of) -> None:
    headers = await token_of(gateway, "dashboard")
    for path, params in ((LABELS, {}), (REGIONS, {"parent": "150000"})):
        first = await gateway.get(path, params=params, headers=headers)
        tag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
        assert first.headers["cache-control"] == "private, max-age=86400"
        again = await gateway.get(path, params=params, headers={**headers, "If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
        stale = await gateway.get(path, params=params, headers={**headers, "If-None-Match": '"0"'})
        assert stale.status_code == 200 and stale.content == first.content
    other = await gateway.get(REGIONS, params={"parent": "230000"}, headers=headers)
    assert other.headers["etag"] != first.headers["etag"]  # a tag per answer


async def test_the_whole_national_division_list(gateway, token_of) -> None:
    headers = await token_of(gateway, "hohhot")  # a city's caller: the list is not scoped, it is no region's data

    async def regions(**params: str) -> list[dict]:
        response = await gateway.get(REGIONS, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["next_cursor"] is None  # one page
        return page["items"]

    everything = await regions()
    assert len(everything) > 3000 and all(r["in_use"] for r in everything)
    assert {r["level"] for r in everything} == {"province", "city", "county"}
    assert {"code": "440300", "name": "深圳市", "level": "city", "parent": "440000"}.items() <= next(
        r for r in everything if r["code"] == "440300"
    ).items()  # every province, not only the two of the demo
    provinces = await regions(parent="000000")
    assert len(provinces) == 34 and {"150000", "230000", "810000"} <= set(codes(provinces))
    assert all(r["level"] == "province" and r["parent"] is None for r in provinces)
    leagues_and_cities = await regions(parent="150000")
    assert (
        len(leagues_and_cities) == 12
        and {"152900": "阿拉善盟"}.items() <= {r["code"]: r["name"] for r in leagues_and_cities}.items()
    )
    hohhot = await regions(parent="150100")
    assert [(r["code"], r["name"]) for r in hohhot][:4] == [
        ("150102", "新城区"), ("150103", "回民区"), ("150104", "玉泉区"), ("150105", "赛罕区")
    ]  # fmt: skip
    assert len(hohhot) == 9
    # A county under its province directly (直辖) has the province as its parent.
    xiantao = await regions(code="429004")
    assert xiantao == [{**xiantao[0], "name": "仙桃市", "level": "county", "parent": "420000"}]

    # Historical codes, with their years and where their territory went.
    assert await regions(code="230702") == []  # retired in 2019: not in the current list
    [yichun] = await regions(code="230702", include_historical="true")
    assert yichun == {
        "code": "230702", "name": "伊春区", "level": "county", "parent": "230700", "since": 1983, "until": 2019,
        "in_use": False, "new_codes": [{"code": "230717", "year": None}],
    }  # fmt: skip
    saihan = await regions(code="150105", include_historical="true")
    assert [(r["name"], r["since"], r["until"]) for r in saihan] == [("郊区", 1983, 2000), ("赛罕区", 2000, None)]
    hohhot_ever = await regions(parent="150100", include_historical="true")
    assert len(hohhot_ever) == 10
    assert len(await regions(include_historical="true")) > len(everything) + 3000


async def test_bad_filters_are_422(gateway, token_of) -> None:
    headers = await token_of(gateway, "dashboard")
    for params, loc in (
        ({"parent": "15"}, ["query", "parent"]),
        ({"code": "15010x"}, ["query", "code"]),
        ({"include_historical": "maybe"}, ["query", "include_historical"]),
        ({"region": "150000"}, ["query", "region"]),  # a misspelt filter is refused, never ignored
    ):
        response = await gateway.get(REGIONS, params=params, headers=headers)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == loc, params
    assert (await gateway.get(LABELS, params={"lang": "en"}, headers=headers)).status_code == 422


async def test_the_labels_are_in_the_merged_document_with_examples(gateway) -> None:
    doc = (await gateway.get("/openapi.json")).json()
    ours = {path: ops for path, ops in doc["paths"].items() if path.startswith(LABELS)}
    assert set(ours) == {LABELS, REGIONS}
    labelled = {"paths": ours, "components": doc["components"]}
    assert missing_examples(labelled) == [] and shape_violations(labelled) == []
    assert {"401", "429"} <= set(ours[LABELS]["get"]["responses"])
    assert "304" in ours[REGIONS]["get"]["responses"]


SOURCE = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'|spec-url=["']([^"']+)["']""")


async def test_the_docs_pages_load_nothing_from_outside(gateway) -> None:
    """Swagger UI (and ReDoc) on an intranet without internet: every script, style and icon they name is the
    gateway's own, and it answers."""
    for page in ("/docs", "/redoc"):
        html = (await gateway.get(page)).text
        urls = [next(filter(None, m.groups())) for m in SOURCE.finditer(html)]
        assert len(urls) >= 3, html  # script, style, icon and the document
        assert "//" not in html.replace("http://www.w3.org", ""), html  # no scheme-relative or absolute URL
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), url
            answer = await gateway.get(url)
            assert answer.status_code == 200, url
            assert answer.content
    assert "SwaggerUIBundle" in (await gateway.get("/docs/static/swagger-ui-bundle.js")).text[:5000]
