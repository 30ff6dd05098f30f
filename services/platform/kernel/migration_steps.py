"""The schema steps of the tables the platform adds to several services (kernel.db, ingest), written once.

Each service keeps its own Alembic chain, with its own revision ids (deployed databases are at them): its
migration calls the step here, `upgrade` the first function of a pair, `downgrade` the second. A step is
the schema as it was at that revision: a later change to a table is a new step, never an edit of an old one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def _jsonb() -> postgresql.JSONB:
    return postgresql.JSONB(astext_type=sa.Text())


# --- 2026-11: the outbox, the processed events, the ingest batches ------------------------------------


def create_kernel_tables() -> None:
    op.create_table(
        "ingest_batches",
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("feed", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("errors", _jsonb(), nullable=False),
        sa.Column("errors_omitted", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_ingest_batches")),
        sa.UniqueConstraint("feed", "idempotency_key", name=op.f("uq_ingest_batches_feed_idempotency_key")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("event_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("payload", _jsonb(), nullable=True),
        sa.Column("change_stream", sa.Text(), nullable=True),
        sa.Column("change_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(payload IS NOT NULL AND topic IS NOT NULL AND key IS NOT NULL AND event_type IS NOT NULL) "
            "OR (change_stream IS NOT NULL AND change_id IS NOT NULL)",
            name=op.f("ck_outbox_event_or_change_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "consumer", name=op.f("pk_processed_events")),
    )


def drop_kernel_tables() -> None:
    for table in ("processed_events", "outbox", "ingest_batches"):
        op.drop_table(table)


# --- 2026-12-02: events a consumer set aside (kernel.consumer) -------------------------------------


def create_parked_events() -> None:
    op.create_table(
        "parked_events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("event", _jsonb(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "consumer", name=op.f("pk_parked_events")),
    )


def drop_parked_events() -> None:
    op.drop_table("parked_events")


# --- append-only tables: the database refuses UPDATE, DELETE and TRUNCATE ---------------------------


def refuse_changes(table: str) -> None:
    """A trigger refuses UPDATE, DELETE and TRUNCATE of `table` for every role (a superuser included), and
    the privileges are revoked from PUBLIC and from the role that owns the table (the application's)."""
    op.execute(
        f"""
        CREATE FUNCTION {table}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()"
    )
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM CURRENT_USER")


def allow_changes(table: str) -> None:
    op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    op.execute(f"DROP TRIGGER {table}_no_update_delete ON {table}")
    op.execute(f"DROP FUNCTION {table}_refuse_change()")
    op.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON {table} TO CURRENT_USER")


# --- 2026-12-03: receipts say what was accepted with a warning, and the columns no field reads ------


def add_receipt_warnings() -> None:
    op.add_column(
        "ingest_batches", sa.Column("warnings", _jsonb(), server_default=sa.text("'[]'::jsonb"), nullable=False)
    )
    op.add_column(
        "ingest_batches", sa.Column("warnings_omitted", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "ingest_batches", sa.Column("ignored_columns", _jsonb(), server_default=sa.text("'[]'::jsonb"), nullable=False)
    )


def drop_receipt_warnings() -> None:
    for column in ("ignored_columns", "warnings_omitted", "warnings"):
        op.drop_column("ingest_batches", column)


# --- 2026-12-03: which person an upload answered on which check request (ingest.check_requests) -----


def create_check_answers() -> None:
    op.create_table(
        "check_answers",
        sa.Column("request_ref", sa.Text(), nullable=False),
        sa.Column("person_key", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("request_ref", "person_key", "batch_id", name=op.f("pk_check_answers")),
    )


def drop_check_answers() -> None:
    op.drop_table("check_answers")


# --- 2026-12-04: every row error of an upload; why a whole upload was refused --------------------


def create_ingest_errors() -> None:
    op.add_column("ingest_batches", sa.Column("reason", _jsonb(), nullable=True))
    op.create_table(
        "ingest_errors",
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("column_name", sa.Text(), nullable=True),
        sa.Column("column_number", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("params", _jsonb(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_ingest_errors")),
    )


def drop_ingest_errors() -> None:
    op.drop_table("ingest_errors")
    op.drop_column("ingest_batches", "reason")


# --- 2026-12-05: feed clients' profiles (ingest.profiles), one append-only row per version ----------


def create_feed_profiles() -> None:
    """How one bureau's files are read (its own headers, the rejection threshold, the ID check-character
    policy, the workbook's sheet), one row per version. The versions are the audit trail (who set each,
    when, what changed), so the table is append-only, enforced by the database as case-svc's audit_log is."""
    op.create_table(
        "feed_profiles",
        sa.Column("feed", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("columns", _jsonb(), nullable=False),
        sa.Column("reject_above_percent", sa.Float(), nullable=False),
        sa.Column("id_checksum", sa.Text(), nullable=False),
        sa.Column("sheet", sa.Text(), nullable=True),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_by_role", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.Column("changes", _jsonb(), nullable=False),
        sa.PrimaryKeyConstraint("feed", "client_id", "version", name=op.f("pk_feed_profiles")),
    )
    refuse_changes("feed_profiles")


def drop_feed_profiles() -> None:
    op.drop_table("feed_profiles")  # its triggers with it
    op.execute("DROP FUNCTION feed_profiles_refuse_change()")


# --- 2026-12-06: a person whose ID number fails its check character is flagged ----------------------


def add_id_checksum_flag(people_table: str) -> None:
    op.add_column(
        people_table, sa.Column("id_checksum_failed", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )


def drop_id_checksum_flag(people_table: str) -> None:
    op.drop_column(people_table, "id_checksum_failed")


# --- 2026-12-07: a receipt names the feed client's profile version the upload was read by -----------


def add_receipt_profile() -> None:
    op.add_column("ingest_batches", sa.Column("profile", _jsonb(), nullable=True))


def drop_receipt_profile() -> None:
    op.drop_column("ingest_batches", "profile")


# --- 2026-12-08: a batch names the feed client that sent it and its rows' regions (feed freshness) --------


def add_batch_sources() -> None:
    """`ingest_batches.client_id`: the feed client that uploaded the batch (NULL for batches stored before);
    `ingest_batch_regions`: how many of its accepted rows each region had (a feed whose rows carry no region:
    the client's regions), read by `GET …/feeds/freshness`."""
    op.add_column("ingest_batches", sa.Column("client_id", sa.Text(), nullable=True))
    op.create_table(
        "ingest_batch_regions",
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "region_code", name=op.f("pk_ingest_batch_regions")),
    )
    op.create_index(op.f("ix_ingest_batch_regions_region_code"), "ingest_batch_regions", ["region_code"])


def drop_batch_sources() -> None:
    op.drop_table("ingest_batch_regions")
    op.drop_column("ingest_batches", "client_id")


# --- 2026-12-10: the outbox wakes its relay when a transaction that filled it commits (kernel.outbox) ----


def add_outbox_notify() -> None:
    """A statement-level trigger: every INSERT into the outbox issues `NOTIFY outbox` (the channel the relay
    LISTENs on, kernel.outbox.NOTIFY_CHANNEL), delivered when the inserting transaction commits — whatever
    wrote the row. PostgreSQL folds a transaction's identical notifications into one."""
    op.execute(
        """
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('outbox', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )


def drop_outbox_notify() -> None:
    op.execute("DROP TRIGGER outbox_notify ON outbox")
    op.execute("DROP FUNCTION outbox_notify()")


# --- 2026-12-16: a consumer's copy of the registrations keeps the registry's revision of each state ------------


def add_registration_revision() -> None:
    """The revision (RegistrationRecordedV1.revision) of each registration a consumer holds, so that it takes a
    state only when it is not older: a certificate's states travel in its holders' partitions. Rows held so far
    keep 0, as events published before the registry's revisions say."""
    op.add_column("registrations", sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False))


def drop_registration_revision() -> None:
    op.drop_column("registrations", "revision")
