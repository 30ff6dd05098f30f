"""Findings written straight into a matcher database, for tests of what the matcher serves and publishes
(not of how it finds them): one person registered in each of two cities, each with a finding there."""

from __future__ import annotations

import asyncpg

HOHHOT_PERSON, BAOTOU_PERSON = "h" * 26, "b" * 26
PEOPLE = {HOHHOT_PERSON: "150102", BAOTOU_PERSON: "150202"}


async def seed(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for person_key, region in PEOPLE.items():
            await conn.execute(
                "INSERT INTO people (person_key, masked_id, name) VALUES ($1, '150102**********34', '测试')", person_key
            )
            await conn.execute(
                "INSERT INTO registrations (category, certificate_no, person_key, unit_name, unit_name_norm, "
                "region_code, status) VALUES ('constructor_2', $1, $1, '某公司', '某公司', $2, 'active')",
                person_key,
                region,
            )
            await conn.execute(
                "INSERT INTO findings (finding_id, person_key, rule, status, severity, region_code, masked_id, name, "
                "review_month, evidence, rule_set_version, change_id) VALUES (gen_random_uuid(), $1, 'SI_NONE', "
                "'open', 'high', $2, '150102**********34', '测试', '2024-10', '{}', '2026.1', gen_random_uuid())",
                person_key,
                region,
            )
    finally:
        await conn.close()
