"""A synthetic province as matcher-svc's projection would hold it: people and the unit directory, in memory.

Pure (no database, no broker): it applies to `devtools.synthetic` records what the feeds and the
projection do on the way — pseudonymous person keys, masked IDs, birth dates from the ID,
contributions grouped per (period, unit) with their insurance types, normalised unit names — so
the rule catalog can be run on a whole province in a test.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from devtools.synthetic import SyntheticProvince
from domain.identifiers import birth_date_from_id, normalize_unit_name, unit_kind_from_uscc
from kernel.privacy import Pseudonymizer, mask_id_number
from kernel.settings import DEV_PEPPER
from matcher_svc.domain import PaidMonth, Person, PersonStatus, Registration, Unit, UnitDirectory

BATCH_ID = "synthetic"


def to_unit(row: dict[str, Any]) -> Unit:
    """A unit-feed row as the projection stores it (kind defaults from the USCC prefix, DOMAIN §5)."""
    return Unit(
        uscc=row["uscc"],
        name=row["name"],
        name_norm=normalize_unit_name(row["name"]),
        former_names_norm=tuple(normalize_unit_name(name) for name in row.get("former_names") or ()),
        kind=row.get("kind") or unit_kind_from_uscc(row["uscc"]).value,
        head_office_uscc=row.get("head_office_uscc"),
        region_code=row["region_code"],
    )


def _paid_months(rows: list[dict[str, Any]], *, insurance: bool) -> tuple[PaidMonth, ...]:
    """One PaidMonth per (period, unit): several insurance types paid by one unit are one paying unit."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        month = grouped.setdefault((row["period"], row["unit_uscc"]), {"row": row, "types": set()})
        if insurance:
            month["types"].add(row["insurance_type"])
    return tuple(
        PaidMonth(
            period=period,
            unit_uscc=uscc,
            unit_name=month["row"]["unit_name"],
            region_code=month["row"]["region_code"],
            batch_id=BATCH_ID,
            insurance_types=tuple(sorted(month["types"])),
        )
        for (period, uscc), month in sorted(grouped.items())
    )


def to_domain(
    province: SyntheticProvince, *, pepper: bytes = DEV_PEPPER.encode()
) -> tuple[list[Person], UnitDirectory]:
    """Every registered person of `province` (in scenario order) and the directory of the unit feed.

    Units that pay but are not in the unit feed (hospitals, schools, bureaus) stay out of the
    directory, as they would in the service.
    """
    pseudonyms = Pseudonymizer(pepper)
    records: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for kind in ("registrations", "contributions", "deposits", "person_statuses"):
        for row in getattr(province, kind):
            records[row["id_number"]][kind].append(row)

    people: list[Person] = []
    ordered = list(dict.fromkeys([*province.scenarios, *(row["id_number"] for row in province.registrations)]))
    for id_number in ordered:
        rows = records.get(id_number)
        if not rows or not rows["registrations"]:
            continue  # the projection knows a person from their registrations
        registrations = rows["registrations"]
        people.append(
            Person(
                person_key=pseudonyms.person_key(id_number),
                masked_id=mask_id_number(id_number),
                name=registrations[-1]["name"],
                birth_date=birth_date_from_id(id_number),
                registrations=tuple(
                    Registration(
                        category=row["category"],
                        certificate_no=row["certificate_no"],
                        unit_name=row["unit_name"],
                        unit_uscc=row["unit_uscc"] or None,
                        region_code=row["region_code"],
                        registered_on=row["registered_on"],
                        status=row["status"],
                        batch_id=BATCH_ID,
                    )
                    for row in registrations
                ),
                contributions=_paid_months(rows["contributions"], insurance=True),
                deposits=_paid_months(rows["deposits"], insurance=False),
                statuses=tuple(
                    PersonStatus(status=row["status"], since=row["since"]) for row in rows["person_statuses"]
                ),
            )
        )
    return people, UnitDirectory(to_unit(row) for row in province.units)
