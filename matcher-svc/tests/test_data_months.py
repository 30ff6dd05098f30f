"""Which months of a province the 社保 feed has delivered (`data_months`): counted as contributions come and go, a
month's row gone with its last record, and the 公积金 feed's deposits left out (nothing reads them; counting them
locked rows that every batch of deposits updated)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from kernel.events import ContributionMonthV1, ContributionsRecordedV1, DepositsRecordedV1, PaidMonthV1
from matcher_svc import projection
from matcher_svc.main import service

MONTH = {"unit_uscc": "91150100MA0000001X", "unit_name": "某公司", "region_code": "150102", "batch_id": "b"}


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
    yield conn
    await conn.close()


async def counts(pg: asyncpg.Connection) -> dict[tuple[str, str, str], int]:
    rows = await pg.fetch("SELECT source, province, period, records FROM data_months")
    return {(r["source"], r["province"], r["period"]): r["records"] for r in rows}


async def test_the_insurance_months_are_counted_as_they_come_and_go_and_deposits_are_not(pg) -> None:
    await projection.apply_contributions(pg, [_contributions("a" * 26, ["2024-09", "2024-10"])])
    await projection.apply_contributions(pg, [_contributions("b" * 26, ["2024-10"])])
    await projection.apply_deposits(pg, [_deposits("a" * 26, ["2024-09", "2024-10"])])
    assert await counts(pg) == {("insurance", "15", "2024-09"): 1, ("insurance", "15", "2024-10"): 2}

    # A's September retracted: its only record, so the month's data is gone; October still has B's.
    await projection.apply_contributions(pg, [_contributions("a" * 26, ["2024-10"])])
    assert await counts(pg) == {("insurance", "15", "2024-10"): 2}
    await projection.apply_deposits(pg, [_deposits("a" * 26, [])])
    assert await counts(pg) == {("insurance", "15", "2024-10"): 2}
