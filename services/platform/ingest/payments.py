"""Monthly payments by a unit for a person — social-insurance contributions and housing-fund deposits.

The two feeds differ only in that a contribution has an insurance type (险种); everything else
(fields, table, how a person's months render) is declared once here.
"""

from __future__ import annotations

from sqlalchemy import Column, Text

from domain.records import INSURANCE_TYPE_SPELLINGS
from ingest.fields import REGION_CODE, Field, choice_value, plausible_month_value, text_value, uscc_field
from ingest.person_records import PersonRecords
from kernel import outbox
from kernel.events import ContributionMonthV1, EventPayload, PaidMonthV1

INSURANCE_TYPE = "insurance_type"

INSURANCE_TYPE_CHOICES = INSURANCE_TYPE_SPELLINGS  # codes, national codes (110, 310 …) and names


def payment_fields(*, insurance_type: bool) -> tuple[Field, ...]:
    """The fields of a payment row after the person's (DOMAIN §5)."""
    fields: tuple[Field, ...] = (
        uscc_field("unit_uscc", required=True),
        Field("unit_name", text_value(200), repeats=True),
        Field("period", plausible_month_value, repeats=True),
        REGION_CODE,
    )
    if insurance_type:
        fields += (Field(INSURANCE_TYPE, choice_value(INSURANCE_TYPE_CHOICES), repeats=True),)
    return fields


def payment_columns(*, insurance_type: bool) -> list[Column]:
    columns = [
        Column("unit_uscc", Text, nullable=False),
        Column("period", Text(collation="C"), nullable=False),
    ]
    if insurance_type:
        columns.append(Column(INSURANCE_TYPE, Text, nullable=False))
    return [
        *columns,
        Column("unit_name", Text, nullable=False),
        Column("region_code", Text(collation="C"), nullable=False),
    ]


def _months_sql(table: str, *, insurance_type: bool) -> str:
    """The person's current paying units per month as a JSON array; several insurance types paid
    by one unit in one month are one paying unit (DOMAIN §6)."""
    current = f"FROM {table} t WHERE t.person_key = pc.person_key AND t.retracted_at IS NULL"
    if not insurance_type:
        # A deposit's unit and month are its key: each row is a paying unit as it stands, nothing to group
        # (a third cheaper to render than the grouping below).
        columns = {name: f"t.{name}" for name in PaidMonthV1.model_fields} | {"batch_id": "t.batch_id::text"}
        return f"SELECT {outbox.json_array_sql(outbox.payload_sql(PaidMonthV1, columns), 't.period, t.unit_uscc')} {current}"
    columns = {name: f"m.{name}" for name in ContributionMonthV1.model_fields}
    return (
        f"SELECT {outbox.json_array_sql(outbox.payload_sql(ContributionMonthV1, columns), 'm.period, m.unit_uscc')} "
        # The latest recorded name and region win (a rename of one insurance type's row shows), not max(): among
        # the group's rows of its latest update (one upload's rows share it), the least. Found with a window
        # and FILTER rather than array_agg(… ORDER BY updated_at DESC)[1]: no sort per group.
        "FROM (SELECT period, unit_uscc, min(unit_name) FILTER (WHERE latest) AS unit_name, "
        "min(region_code) FILTER (WHERE latest) AS region_code, "
        "min(batch_id::text) FILTER (WHERE latest) AS batch_id, "
        f"array_agg({INSURANCE_TYPE} ORDER BY {INSURANCE_TYPE}) AS {INSURANCE_TYPE}s "
        f"FROM (SELECT *, updated_at = max(updated_at) OVER (PARTITION BY unit_uscc, period) AS latest {current}) t "
        "GROUP BY unit_uscc, period) m"
    )


def payment_records(name: str, model: type[EventPayload], *, insurance_type: bool) -> PersonRecords:
    """A person's monthly payments; identified by person + unit + month (+ insurance type)."""
    key = ("unit_uscc", "period", INSURANCE_TYPE) if insurance_type else ("unit_uscc", "period")
    return PersonRecords(
        name=name,
        columns={**dict.fromkeys(key, "text"), "unit_name": "text", "region_code": "text"},
        key=key,
        model=model,
        items_field="months",
        items_sql=_months_sql(name, insurance_type=insurance_type),
        item_model=ContributionMonthV1 if insurance_type else PaidMonthV1,
        item_key=("period", "unit_uscc"),
    )
