"""registry-svc's consumer of cases.decisions: a revocation (撤销注册) marks the registration revoked
with the person's bar date and publishes it, in one transaction with the consumed event ids.

Other decision types on the topic (exemptions, closed cases) are not the registry's business and are
skipped. The bar itself is kept in `registration_bars`, so a later upload that still lists the
certificate as active cannot undo the revocation, and a new registration of the person during the
bar is flagged (see feeds.py).
"""

from __future__ import annotations

import uuid

import asyncpg

from kernel import outbox
from kernel.consumer import IdempotentConsumer
from kernel.events import RegistrationRevokedV1
from kernel.service import Runtime
from kernel.settings import ServiceSettings
from registry_svc import events


async def apply_revocations(pg: asyncpg.Connection, revocations: list[RegistrationRevokedV1]) -> None:
    columns = ("person_ref", "category", "certificate_no", "revoked_on", "barred_until", "authority", "case_ref")
    arrays = [[getattr(r, c) for r in revocations] for c in columns]
    await pg.execute(
        "INSERT INTO registration_bars (person_key, category, certificate_no, revoked_on, barred_until, authority, case_ref) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::date[], $6::text[], $7::text[]) "
        "ON CONFLICT (person_key, category, certificate_no) DO UPDATE SET (revoked_on, barred_until, authority, case_ref) "
        "= (excluded.revoked_on, excluded.barred_until, excluded.authority, excluded.case_ref)",
        *arrays,
    )
    change_id = uuid.uuid4()
    status = await pg.execute(
        "UPDATE registrations r SET status = 'revoked', barred_until = b.barred_until, bar_flag = 'revoked', "
        "change_id = $1, updated_at = now() FROM registration_bars b "
        "WHERE b.person_key = r.person_key AND b.category = r.category AND b.certificate_no = r.certificate_no "
        "AND b.case_ref = ANY($2) AND (r.status, r.barred_until, r.bar_flag) IS DISTINCT FROM ('revoked', b.barred_until, 'revoked')",
        change_id,
        list({r.case_ref for r in revocations}),
    )
    if int(status.rsplit(" ", 1)[-1]):
        await outbox.queue_change_set(pg, events.REGISTRATIONS, change_id)


def consumers(runtime: Runtime[ServiceSettings]) -> list[IdempotentConsumer]:
    return [
        IdempotentConsumer(
            runtime.settings, runtime.db, name="decisions", handlers={RegistrationRevokedV1: apply_revocations}
        )
    ]
