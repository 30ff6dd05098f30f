"""People as every ingesting service keeps them: keyed by pseudonym, the ID number only encrypted.

A service that receives ID numbers adds `persons_table` to its metadata, runs `prepare_person` on
each valid row (pseudonym, masked ID, birth date, sealed ID) and upserts with `UPSERT_PERSONS_CTE`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, LargeBinary, MetaData, Table, Text, false, func

from domain.identifiers import birth_date_from_id, id_check_char
from ingest.feeds import BatchContext, Row
from kernel.privacy import mask_id_number


def persons_table(metadata: MetaData) -> Table:
    return Table(
        "persons",
        metadata,
        Column("person_key", Text, primary_key=True),
        Column("id_cipher", LargeBinary, nullable=False),
        Column("id_key_id", Text, nullable=False),
        Column("masked_id", Text, nullable=False),
        Column("birth_date", Date, nullable=False),
        Column("name", Text, nullable=False),
        # The ID number fails its check character: accepted only because the sending client's profile says
        # accept_and_flag (ingest.profiles); the flag goes with the person's events to the findings' evidence.
        Column("id_checksum_failed", Boolean, nullable=False, server_default=false()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


PERSON_COLUMNS = ("person_key", "id_cipher", "id_key_id", "masked_id", "birth_date", "id_checksum_failed")
_CACHE_LIMIT = 50_000


def prepare_person(row: Row, batch: BatchContext, cache: dict[str, tuple[Any, ...]]) -> None:
    """Replaces `id_number` in a valid row by the person's pseudonym, masked ID, birth date, sealed ID and
    whether the number fails its check character (a row has such a number only where the profile allows).

    `cache` holds one upload's people so that a person with many rows is sealed once.
    """
    id_number = row.pop("id_number")
    derived = cache.get(id_number)
    if derived is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()  # memory stays flat in the size of the upload; exports group a person's rows anyway
        key_id, sealed = batch.runtime.cipher.encrypt(id_number)
        derived = (
            batch.runtime.pseudonymizer.person_key(id_number),
            sealed,
            key_id,
            mask_id_number(id_number),
            birth_date_from_id(id_number),
            id_check_char(id_number[:17]) != id_number[17],
        )
        cache[id_number] = derived
    row.update(zip(PERSON_COLUMNS, derived, strict=True))


def upsert_persons_cte(source: str) -> str:
    """A CTE inserting new people from `source` (which has PERSON_COLUMNS and name); a name change
    updates. It returns the people it inserted or renamed."""
    return (
        "persons_upserted AS ("
        "INSERT INTO persons (person_key, id_cipher, id_key_id, masked_id, birth_date, id_checksum_failed, name) "
        "SELECT DISTINCT ON (person_key) person_key, id_cipher, id_key_id, masked_id, birth_date, id_checksum_failed, "
        f"name FROM {source} "
        "ON CONFLICT (person_key) DO UPDATE SET name = excluded.name, updated_at = now() "
        "WHERE persons.name IS DISTINCT FROM excluded.name RETURNING person_key)"
    )
