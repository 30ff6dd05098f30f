"""The public contract as integrators meet it (issue 13): findings name their units at the top level and are
filtered by unit name, USCC and person name; unknown query parameters and bad cursors are 422; a region
filter outside the caller's regions is a 403; the dashboard role gets no names or ID fragments; existing
findings get their units from the migration; the OpenAPI document has an example for every body."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from devtools.embedded import create_database, database_url, drop_database
from devtools.testing import caller_headers
from domain.identifiers import normalize_unit_name
from kernel import migrations
from kernel.events import ContributionMonthV1, ContributionsRecordedV1
from kernel.openapi import missing_examples
from matcher_svc import findings, projection
from matcher_svc.domain import Policy
from matcher_svc.main import create_app, service

FINDINGS = "/api/v1/matcher/findings"
REGISTERED = ("91150102MA0N1B2C35", "内蒙古恒泰建筑工程有限公司", "150102")
PAYING = ("91150105MA0P4Q5R60", "呼和浩特市金桥劳务（集团）有限公司", "150105")
ZHANG, LI = "z" * 26, "l" * 26  # 张伟: registered at 恒泰, paid by 金桥; 李娜: registered at 恒泰, no 社保 at all
PEOPLE = {ZHANG: ("150102**********34", "张伟"), LI: ("150102**********56", "李娜")}


async def seed_and_evaluate(database_url: str) -> None:
    """A projection as the consumers would leave it, evaluated as the evaluation worker would."""
    pg = await asyncpg.connect(database_url)
    try:
        for uscc, name, region in (REGISTERED, PAYING):
            await pg.execute(
                "INSERT INTO units (uscc, name, name_norm, former_names_norm, kind, region_code) "
                "VALUES ($1, $2, $3, '{}', 'enterprise', $4)",
                uscc,
                name,
                normalize_unit_name(name),
                region,
            )
        for person_key, (masked_id, name) in PEOPLE.items():
            await pg.execute(
                "INSERT INTO people (person_key, masked_id, name, birth_date) VALUES ($1, $2, $3, '1980-01-01')",
                person_key,
                masked_id,
                name,
            )
            await pg.execute(
                "INSERT INTO registrations (category, certificate_no, person_key, unit_name, unit_name_norm, "
                "unit_uscc, region_code, registered_on, status) "
                "VALUES ('constructor_2', $1, $2, $3, $4, NULL, '150102', '2019-03-01', 'active')",
                f"蒙2{person_key[:6]}",
                person_key,
                REGISTERED[1],
                normalize_unit_name(REGISTERED[1]),
            )
        uscc, unit_name, region = PAYING
        months = [
            ContributionMonthV1(
                period=period,
                unit_uscc=uscc,
                unit_name=unit_name,
                region_code=region,
                batch_id="b1",
                insurance_types=["01"],
            )
            for period in ("2024-09", "2024-10")
        ]
        masked_id, name = PEOPLE[ZHANG]
        await projection.apply_contributions(
            pg, [ContributionsRecordedV1(person_ref=ZHANG, masked_id=masked_id, name=name, months=months)]
        )
        async with pg.transaction():
            await findings.evaluate_people(pg, list(PEOPLE), Policy(review_month="2024-10"))
    finally:
        await pg.close()


async def listed(matcher, headers: dict[str, str] | None = None, **params: str) -> list[dict[str, Any]]:
    response = await matcher.get(FINDINGS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def rules_of(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(item["name"], item["rule"]) for item in items}


async def test_findings_name_their_units_and_are_filtered_by_them(matcher, matcher_settings) -> None:
    await seed_and_evaluate(matcher_settings.database_url)
    everything = await listed(matcher)
    assert rules_of(everything) == {("张伟", "SI_UNIT_MISMATCH"), ("李娜", "SI_NONE")}
    by_rule = {item["rule"]: item for item in everything}
    registered = [{"name": REGISTERED[1], "uscc": REGISTERED[0]}]  # the USCC the registered name resolved to
    assert by_rule["SI_UNIT_MISMATCH"]["registered_units"] == registered
    assert by_rule["SI_UNIT_MISMATCH"]["paying_units"] == [{"name": PAYING[1], "uscc": PAYING[0]}]
    assert by_rule["SI_NONE"]["registered_units"] == registered
    assert by_rule["SI_NONE"]["paying_units"] == []  # not a rule about a payer

    # A unit's name, as registered or paying, exactly after normalising width, brackets and spaces.
    assert rules_of(await listed(matcher, unit_name=REGISTERED[1])) == rules_of(everything)
    assert rules_of(await listed(matcher, unit_name=" 呼和浩特市金桥劳务(集团)有限公司")) == {
        ("张伟", "SI_UNIT_MISMATCH")
    }
    assert await listed(matcher, unit_name="呼和浩特市金桥劳务有限公司") == []  # another name: no fuzzy match
    assert rules_of(await listed(matcher, unit_uscc=PAYING[0].lower())) == {("张伟", "SI_UNIT_MISMATCH")}
    assert rules_of(await listed(matcher, unit_uscc=REGISTERED[0])) == rules_of(everything)
    assert rules_of(await listed(matcher, person_name="李娜")) == {("李娜", "SI_NONE")}
    assert await listed(matcher, person_name="李") == []  # exact, not a prefix
    # Filters combine.
    assert await listed(matcher, unit_uscc=PAYING[0], person_name="李娜") == []
    assert rules_of(await listed(matcher, unit_name=REGISTERED[1], rule="SI_NONE", status="open")) == {
        ("李娜", "SI_NONE")
    }
    # Paged like every list: a page of one, then the next.
    first = (await matcher.get(FINDINGS, params={"unit_uscc": REGISTERED[0], "limit": "1"})).json()
    second = (await matcher.get(FINDINGS, params={"unit_uscc": REGISTERED[0], "cursor": first["next_cursor"]})).json()
    assert len(first["items"]) == 1 and second["next_cursor"] is None
    assert rules_of(first["items"] + second["items"]) == rules_of(everything)

    for params, loc in (
        ({"unit_uscc": "9115"}, ["query", "unit_uscc"]),
        ({"unit_name": "  "}, ["query", "unit_name"]),
    ):
        refused = await matcher.get(FINDINGS, params=params)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == loc, params


async def test_unknown_query_parameters_and_bad_cursors_are_422(matcher) -> None:
    misspelt = await matcher.get(FINDINGS, params={"unit_nam": "内蒙古恒泰建筑工程有限公司", "limit": "5"})
    assert misspelt.status_code == 422
    [error] = misspelt.json()["detail"]
    assert error["type"] == "extra_forbidden" and error["loc"] == ["query", "unit_nam"]
    assert "unit_name" in error["msg"] and "内蒙古" not in misspelt.text  # names the route's; never echoes the value
    several = await matcher.get(FINDINGS, params={"b": "1", "a": "2", "region_code": "150000"})
    assert [e["loc"] for e in several.json()["detail"]] == [["query", "a"], ["query", "b"]]
    # Every route, its dependencies' parameters included; a route without parameters takes none.
    assert (await matcher.get("/api/v1/matcher/progress", params={"region_code": "150000"})).status_code == 422
    sweep = await matcher.post("/api/v1/matcher/sweeps", params={"dry_run": "1"}, json={"region_code": "150100"})
    assert sweep.status_code == 422 and sweep.json()["detail"][0]["loc"] == ["query", "dry_run"]
    assert (await matcher.get("/healthz", params={"x": "1"})).status_code == 422

    bad_cursor = await matcher.get(FINDINGS, params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["detail"] == [
        {"type": "value_error", "msg": "the cursor is not one this API gave out", "loc": ["query", "cursor"]}
    ]


async def test_the_dashboard_gets_no_names_or_id_fragments(matcher, matcher_settings) -> None:
    await seed_and_evaluate(matcher_settings.database_url)
    dashboard = caller_headers(regions=["150000"], role="dashboard", actor="dashboard")
    officer = caller_headers(regions=["150000"], role="province_admin", actor="admin")
    masked, plain = await listed(matcher, dashboard), await listed(matcher, officer)
    assert len(masked) == len(plain) == 2
    assert all(item["name"] is None and item["masked_id"] is None for item in masked)
    assert all("masked_id" not in item["evidence"] for item in masked)
    assert {item["finding_id"] for item in masked} == {item["finding_id"] for item in plain}
    assert masked[0]["registered_units"] == plain[0]["registered_units"]  # units are no personal data
    text = (await matcher.get(FINDINGS, headers=dashboard)).text
    for masked_id, name in PEOPLE.values():
        assert masked_id not in text and name not in text and masked_id[:6] + "*" not in text
    assert {item["name"] for item in plain} == {"张伟", "李娜"}  # an officer sees them

    # Nor may the dashboard look for a name.
    probe = await matcher.get(FINDINGS, params={"person_name": "张伟"}, headers=dashboard)
    assert probe.status_code == 403 and probe.json()["detail"][0]["loc"] == ["query", "person_name"]
    assert "张伟" not in probe.text

    view = await matcher.get(f"/api/v1/matcher/persons/{ZHANG}", headers=dashboard)
    assert view.status_code == 200
    assert (view.json()["name"], view.json()["masked_id"]) == (None, None)
    assert all(f["name"] is None and "masked_id" not in f["evidence"] for f in view.json()["findings"])
    assert "张伟" not in view.text and "150102**********" not in view.text
    assert (await matcher.get(f"/api/v1/matcher/persons/{ZHANG}", headers=officer)).json()["name"] == "张伟"
    progress = await matcher.get("/api/v1/matcher/progress", headers=dashboard)
    assert progress.status_code == 200 and "张伟" not in progress.text  # counts only, for everyone


def test_every_operation_has_examples() -> None:
    doc = create_app(service.load_settings()).openapi()
    assert missing_examples(doc) == []
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ErrorBody" in schemas  # one error shape
    finding = schemas["FindingOut"]["examples"][0]
    assert finding["registered_units"] and finding["paying_units"] and finding["name"] == "张伟"
    params = {p["name"] for p in doc["paths"][FINDINGS]["get"]["parameters"]}
    assert {"unit_name", "unit_uscc", "person_name", "region_code", "cursor", "limit"} <= params


# --- the migration ------------------------------------------------------------------------------

BEFORE = "5d1e0a7c2b91"  # the revision before findings named their units


@pytest.fixture
def database_before_units(infra):
    name = f"test_units_{uuid.uuid4().hex[:10]}"
    asyncio.run(create_database(infra.server_url, name))
    url = database_url(infra.server_url, name)
    asyncpg_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    migrations.upgrade(service.migrations, asyncpg_url, BEFORE)
    yield url, asyncpg_url
    asyncio.run(drop_database(infra.server_url, name))


def test_the_migration_gives_existing_findings_their_units(database_before_units) -> None:
    url, asyncpg_url = database_before_units
    evidence = {
        "registered": [
            {"name": "内蒙古恒泰建筑工程有限公司", "uscc": None, "resolved_uscc": REGISTERED[0]},
            {"name": "包头市华建（集团）有限公司", "uscc": None, "resolved_uscc": None},
        ],
        "paid": {
            "2024-09": [
                {"uscc": PAYING[0], "name": PAYING[1], "same": False},
                {"uscc": REGISTERED[0], "name": REGISTERED[1], "same": True},  # the registered unit paying
            ],
            "2024-10": [{"uscc": PAYING[0], "name": PAYING[1], "same": False}],
        },
    }

    async def insert() -> None:
        pg = await asyncpg.connect(url)
        try:
            for person_key, rule, body in ((ZHANG, "SI_UNIT_MISMATCH", evidence), (LI, "AGE_OVER_LIMIT", {})):
                await pg.execute(
                    "INSERT INTO findings (finding_id, person_key, rule, status, severity, region_code, masked_id, "
                    "name, review_month, evidence, rule_set_version, change_id) VALUES (gen_random_uuid(), $1, $2, "
                    "'open', 'high', '150102', 'm', 'n', '2024-10', $3::jsonb, '2026.1', gen_random_uuid())",
                    person_key,
                    rule,
                    orjson.dumps(body).decode(),
                )
        finally:
            await pg.close()

    async def read() -> dict[str, dict[str, Any]]:
        pg = await asyncpg.connect(url)
        try:
            rows = await pg.fetch(
                "SELECT rule, registered_units::text, paying_units::text, unit_names_norm, unit_usccs FROM findings"
            )
            return {
                row["rule"]: {
                    "registered_units": orjson.loads(row["registered_units"]),
                    "paying_units": orjson.loads(row["paying_units"]),
                    "unit_names_norm": row["unit_names_norm"],
                    "unit_usccs": row["unit_usccs"],
                }
                for row in rows
            }
        finally:
            await pg.close()

    asyncio.run(insert())
    migrations.upgrade(service.migrations, asyncpg_url)
    found = asyncio.run(read())
    # As evaluation now writes them (the same function, on the same evidence).
    registered, paying = findings.units_of(evidence)
    names, usccs = findings.unit_filters(registered, paying)
    assert found["SI_UNIT_MISMATCH"] == {
        "registered_units": registered,
        "paying_units": paying,
        "unit_names_norm": names,
        "unit_usccs": usccs,
    }
    assert registered == [
        {"name": "包头市华建（集团）有限公司", "uscc": None},
        {"name": REGISTERED[1], "uscc": REGISTERED[0]},
    ]
    assert paying == [{"name": PAYING[1], "uscc": PAYING[0]}]
    assert "呼和浩特市金桥劳务(集团)有限公司" in names
    assert found["AGE_OVER_LIMIT"] == {
        "registered_units": [],
        "paying_units": [],
        "unit_names_norm": [],
        "unit_usccs": [],
    }
