"""The bars case handling sets (撤销注册: no new registration for 3 years from the revocation), and how they
hold against what the registrations feed writes.

Two rules, each written once here: a barred certificate stays revoked — whether the revocation arrives
(consumers.py) or an upload still lists the certificate as active (feeds.py) — and an active
registration of a barred person recorded during the bar is kept but flagged `registered_during_bar`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from kernel.events import RegistrationRevokedV1

_BAR_COLUMNS = ("person_ref", "category", "certificate_no", "revoked_on", "barred_until", "authority", "case_ref")
RECORD_BARS = (
    "INSERT INTO registration_bars (person_key, category, certificate_no, revoked_on, barred_until, authority, case_ref) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::date[], $6::text[], $7::text[]) "
    "ON CONFLICT (person_key, category, certificate_no) DO UPDATE SET (revoked_on, barred_until, authority, case_ref) "
    "= (excluded.revoked_on, excluded.barred_until, excluded.authority, excluded.case_ref)"
)

# The registrations that change $1 wrote, or that the cases $2 just barred, marked revoked with the bar's
# end wherever a bar holds them and they do not say so yet; each is stamped with change id $1 (published).
KEEP_REVOKED = (
    "WITH revoked AS (UPDATE registrations r SET status = 'revoked', barred_until = b.barred_until, "
    "bar_flag = 'revoked', change_id = $1, updated_at = now() FROM registration_bars b "
    "WHERE b.person_key = r.person_key AND b.category = r.category AND b.certificate_no = r.certificate_no "
    "AND (r.change_id = $1 OR b.case_ref = ANY($2::text[])) "
    "AND (r.status, r.barred_until, r.bar_flag) IS DISTINCT FROM ('revoked', b.barred_until, 'revoked') "
    "RETURNING 1) SELECT count(*) FROM revoked"
)

# An active registration that change $1 wrote, of a person barred on another certificate and registered
# from the revocation to the bar's end, is kept but flagged, with the bar's end.
FLAG_DURING_BAR = (
    "UPDATE registrations r SET barred_until = b.until, bar_flag = 'registered_during_bar' "
    "FROM (SELECT person_key, min(revoked_on) AS since, max(barred_until) AS until FROM registration_bars GROUP BY person_key) b "
    "WHERE r.change_id = $1 AND r.person_key = b.person_key AND r.status = 'active' "
    "AND coalesce(r.registered_on, current_date) BETWEEN b.since AND b.until "
    "AND NOT EXISTS (SELECT 1 FROM registration_bars x WHERE x.person_key = r.person_key AND x.category = r.category "
    "AND x.certificate_no = r.certificate_no)"
)


async def record_revocations(pg: asyncpg.Connection, revocations: Sequence[RegistrationRevokedV1]) -> None:
    """Keeps each revocation's bar (a later revocation of one certificate replaces its bar)."""
    await pg.execute(RECORD_BARS, *([getattr(r, c) for r in revocations] for c in _BAR_COLUMNS))


async def keep_revoked(pg: asyncpg.Connection, change_id: uuid.UUID, case_refs: Sequence[str] = ()) -> int:
    """Applies the bars to the registrations change `change_id` wrote and to those `case_refs` barred;
    returns how many registrations it changed (stamped with `change_id`)."""
    return await pg.fetchval(KEEP_REVOKED, change_id, list(case_refs))


# Whether any bar is held: an upload's chunk asks it with its store (feeds.py), then holds its bars if so.
ANY_BAR = "EXISTS (SELECT 1 FROM registration_bars)"


async def hold_upload(pg: asyncpg.Connection, batch_id: uuid.UUID, *, barred: bool | None = None) -> None:
    """Applies the bars to the registrations an upload wrote: barred certificates stay revoked, new
    registrations during a bar are flagged. `barred`: whether any bar is held, when the caller asked (ANY_BAR)."""
    if barred if barred is not None else await pg.fetchval(f"SELECT {ANY_BAR}"):
        await keep_revoked(pg, batch_id)
        await pg.execute(FLAG_DURING_BAR, batch_id)
