"""People as every ingesting service keeps them: keyed by pseudonym, the ID number only encrypted.

A service that receives ID numbers adds `persons_table` to its metadata, runs `prepare_person` on
each valid row (pseudonym, masked ID, birth date, sealed ID) and upserts with `UPSERT_PERSONS_CTE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, LargeBinary, MetaData, Table, Text, false, func

from domain.identifiers import birth_date_from_id, id_check_char
from ingest.feeds import BatchContext, Columns, Row
from ingest.fields import id_check_characters
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
    derived = cache.get(id_number) or _derive([id_number], batch, cache)[0]
    row.update(zip(PERSON_COLUMNS, derived, strict=True))


def _derive(
    id_numbers: Sequence[str],
    batch: BatchContext,
    cache: dict[str, tuple[Any, ...]],
    facts: tuple[Sequence[date], Sequence[bool]] | None = None,
) -> list[tuple[Any, ...]]:
    """The PERSON_COLUMNS of each ID number (sealed in one batch), remembered in `cache`; `facts`: their birth
    dates and failing check characters when the caller has them (`id_facts`)."""
    if len(cache) + len(id_numbers) > _CACHE_LIMIT:
        cache.clear()  # memory stays flat in the size of the upload; exports group a person's rows anyway
    keys = batch.runtime.pseudonymizer.person_keys(id_numbers)
    key_id, sealed = batch.runtime.cipher.encrypt_many(id_numbers)
    births, failed = facts or (
        [birth_date_from_id(id_number) for id_number in id_numbers],
        [id_check_char(id_number[:17]) != id_number[17] for id_number in id_numbers],
    )
    derived = []
    for id_number, person_key, blob, birth, flagged in zip(id_numbers, keys, sealed, births, failed, strict=True):
        person = (person_key, blob, key_id, mask_id_number(id_number), birth, flagged)
        cache[id_number] = person
        derived.append(person)
    return derived


def id_facts(id_numbers: Any) -> tuple[list[date], list[bool]]:
    """domain.identifiers.birth_date_from_id of each ID number of a pyarrow column, and whether its check character
    fails (ingest.fields.id_check_characters), a column at a time."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    births = pc.strptime(pc.utf8_slice_codeunits(id_numbers, 6, 14), format="%Y%m%d", unit="s").cast(pa.date32())
    checks = id_check_characters(pc.utf8_slice_codeunits(id_numbers, 0, 17))
    failed = pc.not_equal(checks, pc.utf8_slice_codeunits(id_numbers, 17, 18))
    return births.to_pylist(), failed.to_pylist()


def prepare_person_columns(columns: Columns, batch: BatchContext) -> Columns:
    """`prepare_person` of a chunk's valid rows as columns (ingest.columnar): each distinct person once (the
    sealed ID as COPY reads a bytea, \\x and hex)."""
    import pyarrow as pa

    columns = dict(columns)
    encoded = columns.pop("id_number").dictionary_encode()
    id_numbers = encoded.dictionary.to_pylist()
    known = [batch.cache.get(id_number) for id_number in id_numbers]
    new = [id_number for id_number, person in zip(id_numbers, known, strict=True) if person is None]
    fresh = iter(_derive(new, batch, batch.cache, id_facts(pa.array(new, pa.string()))) if new else ())
    people = [person if person is not None else next(fresh) for person in known]
    person_keys, sealed, key_ids, masked, births, failed = zip(*people, strict=True)
    derived = {
        "person_key": pa.array(person_keys, pa.string()),
        "id_cipher": pa.array(["\\x" + blob.hex() for blob in sealed], pa.string()),
        "id_key_id": pa.array(key_ids, pa.string()),
        "masked_id": pa.array(masked, pa.string()),
        "birth_date": pa.array(births, pa.date32()),
        "id_checksum_failed": pa.array(failed, pa.bool_()),
    }
    assert tuple(derived) == PERSON_COLUMNS
    columns.update((name, values.take(encoded.indices)) for name, values in derived.items())
    return columns


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
