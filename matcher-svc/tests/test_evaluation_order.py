"""Evaluating a person reads their projection in a fixed order, so a replay — which rewrites rows and
moves them on disk — yields the same evidence and publishes nothing again."""

from __future__ import annotations

import asyncpg
import pytest

from kernel.events import ContributionMonthV1, ContributionsRecordedV1
from matcher_svc import findings, projection
from matcher_svc.main import service

PERSON = "f" * 26
MONTHS = (("2024-10", "91150100MA0000002Y"), ("2024-09", "91150100MA0000001X"), ("2024-10", "91150100MA0000001X"))


def _contributions(months: tuple[tuple[str, str], ...]) -> ContributionsRecordedV1:
    return ContributionsRecordedV1(
        person_ref=PERSON,
        masked_id="150102**********34",
        name="测试",
        months=[
            ContributionMonthV1(
                period=period,
                unit_uscc=uscc,
                unit_name="某公司",
                region_code="150102",
                batch_id="b",
                insurance_types=["01"],
            )
            for period, uscc in months
        ],
    )


@pytest.fixture
def matcher_db(service_database) -> str:
    return service_database(service).url


async def test_rows_rewritten_by_a_replay_are_read_in_the_same_order(matcher_db) -> None:
    conn = await asyncpg.connect(matcher_db)
    try:
        await conn.execute(
            "INSERT INTO people (person_key, masked_id, name) VALUES ($1, '150102**********34', '测试')", PERSON
        )
        for cert in ("蒙2150002", "蒙2150001", "蒙2150003"):
            await conn.execute(
                "INSERT INTO registrations (category, certificate_no, person_key, unit_name, unit_name_norm, "
                "region_code, status) VALUES ('constructor_2', $1, $2, '某公司', '某公司', '150102', 'active')",
                cert,
                PERSON,
            )
        await projection.apply_contributions(conn, [_contributions(MONTHS)])
        [before], _ = await findings.load_people(conn, [PERSON])
        # What a replay does: the same values written again, so the rows move to the end of the table.
        await conn.execute("UPDATE registrations SET status = status WHERE certificate_no = '蒙2150001'")
        # And the person's months again, listed in another order by their event.
        await projection.apply_contributions(conn, [_contributions(MONTHS[::-1])])
        [after], _ = await findings.load_people(conn, [PERSON])
    finally:
        await conn.close()

    certificates = [r.certificate_no for r in before.registrations]
    assert certificates == [r.certificate_no for r in after.registrations] == ["蒙2150001", "蒙2150002", "蒙2150003"]
    months = [(m.period, m.unit_uscc) for m in before.contributions]
    assert months == [(m.period, m.unit_uscc) for m in after.contributions] == sorted(months)
