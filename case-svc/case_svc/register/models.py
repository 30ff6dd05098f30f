"""The register (注册人员名册) as case-svc needs it: who holds which registration, where, in what status —
from `registry.registrations`. The summary table's 核查人数 (people checked) counts the people on it
with an active registration: the matcher cross-checks every one of them, whether or not a finding
came of it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, PrimaryKeyConstraint, Table, Text, func

from case_svc.db import metadata

registrations = Table(
    "registrations",
    metadata,
    Column("category", Text, nullable=False),
    Column("certificate_no", Text, nullable=False),
    Column("person_ref", Text, nullable=False),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("status", Text, nullable=False),
    # When case-svc first learned of the registration: a period's table counts who was on the register by its end.
    Column("first_seen", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The registry's revision of the state held (RegistrationRecordedV1.revision): an older state is not taken.
    Column("revision", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("category", "certificate_no"),
    Index(None, "region_code", "status"),
)
