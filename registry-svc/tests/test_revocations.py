"""Bars from case handling (撤销注册) against the registry's feed: a revoked certificate stays revoked — when the
revocation arrives and when a later upload still lists it as active — and a new registration of the barred person
during the bar is kept but flagged.

The revocations are applied by the consumer's handler, in one transaction as the consumer applies a batch.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from devtools.feeds import db_value, person_key, published, table_digest, upload
from devtools.synthetic import generate_province
from devtools.testing import TopicTail, event_of
from domain.records import RecordKind
from kernel.events import RegistrationRecordedV1, RegistrationRevokedV1
from kernel.privacy import mask_id_number
from registry_svc.consumers import apply_revocations

API = "/api/v1/registry"
REGISTRATIONS = RecordKind.registrations
REVOKED_ON, BARRED_UNTIL = date(2025, 1, 10), date(2028, 1, 10)


def revocation(row: dict, case_ref: str) -> RegistrationRevokedV1:
    return RegistrationRevokedV1(
        person_ref=person_key(row["id_number"]),
        masked_id=mask_id_number(row["id_number"]),
        category=row["category"],
        certificate_no=row["certificate_no"],
        revoked_on=REVOKED_ON,
        barred_until=BARRED_UNTIL,
        authority="内蒙古自治区住房和城乡建设厅",
        case_ref=case_ref,
    )


async def revoke(database_url: str, revocations: list[RegistrationRevokedV1]) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await apply_revocations(conn, revocations)
    finally:
        await conn.close()


async def held(registry, row: dict) -> dict[str, dict]:
    """The registrations the registry holds for the row's person, by certificate number."""
    response = await registry.get(f"{API}/persons/{person_key(row['id_number'])}/registrations")
    assert response.status_code == 200, response.text
    return {r["certificate_no"]: r for r in response.json()["items"]}


def statuses(records: list) -> dict[str, str]:
    return {event_of(r)["subject"]: RegistrationRecordedV1.model_validate(event_of(r)["data"]).status for r in records}


async def test_a_revoked_certificate_stays_revoked_and_a_registration_during_the_bar_is_flagged(
    registry, registry_db, infra
):
    rows = [
        dict(r, status="active") for r in generate_province(people=30, seed=41, with_payments=False).registrations[:20]
    ]
    revoked, later = rows[0], rows[5]  # `later`'s certificate is revoked before the registry ever holds it
    assert person_key(later["id_number"]) != person_key(revoked["id_number"])
    first_upload = [row for row in rows if row is not later]

    async with TopicTail(infra.bootstrap_servers, RegistrationRecordedV1.topic) as tail:
        await upload(registry, API, REGISTRATIONS, first_upload)
        await published(tail, registry_db.url, exactly=len(first_upload))

        # The revocation: the certificate is marked revoked with the bar's end, and published.
        await revoke(registry_db.url, [revocation(revoked, "CASE-1"), revocation(later, "CASE-2")])
        subject = f"{revoked['category']}:{revoked['certificate_no']}"
        assert statuses(await published(tail, registry_db.url, exactly=1)) == {subject: "revoked"}
        now = (await held(registry, revoked))[revoked["certificate_no"]]
        assert (now["status"], now["barred_until"], now["bar_flag"]) == ("revoked", str(BARRED_UNTIL), "revoked")

        # The same revocation again (a new event id, as a re-sent decision would have) changes nothing.
        stored = await table_digest(registry_db.url, "registrations")
        await revoke(registry_db.url, [revocation(revoked, "CASE-1")])
        await published(tail, registry_db.url, exactly=0)
        assert await table_digest(registry_db.url, "registrations") == stored

        # An upload listing both revoked certificates as active, with two new registrations of the first
        # person: one from before the bar, one during it.
        before_bar = dict(revoked, certificate_no="BAR-BEFORE-1", registered_on=date(2020, 3, 1))
        during_bar = dict(revoked, certificate_no="BAR-DURING-1", registered_on=date(2025, 6, 1))
        receipt = await upload(registry, API, REGISTRATIONS, [*rows, before_bar, during_bar])
        # Changed: the revoked certificate (listed active, then held revoked), `later`, and the two new ones.
        assert (receipt["accepted"], receipt["changed"]) == (len(rows) + 2, 4)
        later_subject = f"{later['category']}:{later['certificate_no']}"
        assert statuses(await published(tail, registry_db.url, exactly=4)) == {
            subject: "revoked",
            later_subject: "revoked",
            f"{revoked['category']}:BAR-BEFORE-1": "active",
            f"{revoked['category']}:BAR-DURING-1": "active",
        }

    now = await held(registry, revoked)
    assert (now[revoked["certificate_no"]]["status"], now[revoked["certificate_no"]]["bar_flag"]) == (
        "revoked",
        "revoked",
    )
    assert (now["BAR-DURING-1"]["status"], now["BAR-DURING-1"]["bar_flag"]) == ("active", "registered_during_bar")
    assert now["BAR-DURING-1"]["barred_until"] == str(BARRED_UNTIL)
    assert (now["BAR-BEFORE-1"]["bar_flag"], now["BAR-BEFORE-1"]["barred_until"]) == (None, None)
    later_now = (await held(registry, later))[later["certificate_no"]]
    assert (later_now["status"], later_now["barred_until"], later_now["bar_flag"]) == (
        "revoked",
        str(BARRED_UNTIL),
        "revoked",
    )
    assert await db_value(registry_db.url, "SELECT count(*) FROM registration_bars") == 2
