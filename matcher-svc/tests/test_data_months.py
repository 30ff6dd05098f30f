"""Which months of a province the 社保 feed has delivered (`data_months`): batches of contributions note their
months' changes and the evaluation worker counts them in (`projection.fold_data_months`), queueing whoever is
registered in a province one of whose months arrived or went away; a month's row goes with its last record; the
公积金 feed's deposits are left out (nothing reads them). Noting takes no lock: two batches of contributions for
the same months do not wait for each other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from kernel.events import ContributionMonthV1, ContributionsRecordedV1, DepositsRecordedV1, PaidMonthV1
from matcher_svc import findings, projection
from matcher_svc.main import service

MONTH = {"unit_uscc": "91150100MA0000001X", "unit_name": "某公司", "region_code": "150102", "batch_id": "b"}
A, B, REGISTERED = "a" * 26, "b" * 26, "r" * 26


def _contributions(person: str, periods: list[str]) -> ContributionsRecordedV1:
    months = [ContributionMonthV1(period=p, insurance_types=["01"], **MONTH) for p in periods]
    return ContributionsRecordedV1(person_ref=person, masked_id="150102**********34", name="测试", months=months)


def _deposits(person: str, periods: list[str]) -> DepositsRecordedV1:
    months = [PaidMonthV1(period=p, **MONTH) for p in periods]
    return DepositsRecordedV1(person_ref=person, masked_id="150102**********34", name="测试", months=months)


@pytest.fixture
def matcher_db(service_database) -> str:
    return service_database(service).url


@pytest.fixture
async def pg(matcher_db) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(matcher_db)
    await conn.execute(
        "INSERT INTO registrations (category, certificate_no, person_key, unit_name, unit_name_norm, region_code, "
        "status) VALUES ('constructor_2', '蒙2150001', $1, '某公司', '某公司', '150102', 'active')",
        REGISTERED,
    )
    await conn.execute(
        "INSERT INTO people (person_key, masked_id, name) VALUES ($1, '150102**********34', '测试')", REGISTERED
    )
    yield conn
    await conn.close()


async def counts(pg: asyncpg.Connection) -> dict[tuple[str, str, str], int]:
    rows = await pg.fetch("SELECT source, province, period, records FROM data_months")
    return {(r["source"], r["province"], r["period"]): r["records"] for r in rows}


async def held(pg: asyncpg.Connection) -> frozenset[str] | None:
    """The 社保 months a chunk reads for the registered person's province."""
    [person], _ = await findings.load_people(pg, [REGISTERED])
    return person.insurance_data_months


async def test_the_insurance_months_are_counted_by_the_fold_and_deposits_are_not(pg) -> None:
    await projection.apply_contributions(pg, [_contributions(A, ["2024-09", "2024-10"])])
    await projection.apply_contributions(pg, [_contributions(B, ["2024-10"])])
    await projection.apply_deposits(pg, [_deposits(A, ["2024-08", "2024-09"])])
    assert await counts(pg) == {}  # noted, not counted yet
    assert await held(pg) == frozenset({"2024-09", "2024-10"})  # a chunk reads what was noted all the same

    # Both months arrived: whoever is registered in the province is to be evaluated again.
    assert await projection.fold_data_months(pg) == {REGISTERED}
    assert await counts(pg) == {("insurance", "15", "2024-09"): 1, ("insurance", "15", "2024-10"): 2}
    assert await projection.fold_data_months(pg) == set()  # nothing noted since

    # A's September retracted: its only record, so the month's data is gone; October still has B's.
    await projection.apply_contributions(pg, [_contributions(A, ["2024-10"])])
    await projection.apply_deposits(pg, [_deposits(A, [])])
    assert await held(pg) == frozenset({"2024-10"})
    assert await projection.fold_data_months(pg) == {REGISTERED}
    assert await counts(pg) == {("insurance", "15", "2024-10"): 2}
    # More records of a month that has data already change nothing anyone is judged by.
    await projection.apply_contributions(pg, [_contributions(B, ["2024-10"]), _contributions(A, ["2024-10"])])
    assert await projection.fold_data_months(pg) == set()


async def test_two_batches_of_contributions_for_the_same_months_do_not_wait_for_each_other(pg, matcher_db) -> None:
    other = await asyncpg.connect(matcher_db)
    try:
        async with pg.transaction():
            await projection.apply_contributions(pg, [_contributions(A, ["2024-09", "2024-10"])])
            async with other.transaction():  # while the first is not committed
                await asyncio.wait_for(
                    projection.apply_contributions(other, [_contributions(B, ["2024-09", "2024-10"])]), timeout=5
                )
        assert await projection.fold_data_months(pg) == {REGISTERED}
        assert await counts(pg) == {("insurance", "15", "2024-09"): 2, ("insurance", "15", "2024-10"): 2}
    finally:
        await other.close()
