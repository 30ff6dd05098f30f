"""The gateway's tables: the log of personal-data access, which client uploaded which batch, the officers'
accounts with their sessions and the history of every change to them, and the views they saved."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from kernel.db import NAMING_CONVENTION

# Not kernel.db.service_metadata: the gateway has no outbox, consumers or ingest of its own.
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# One row per read of a person's data, lookup by ID number and reveal (DOMAIN §8), written before
# the data is returned. Holds the pseudonym, never the ID number.
person_access = Table(
    "person_access",
    metadata,
    Column("access_id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("client_id", Text, nullable=False),  # the client's id, or the signed-in person's username
    Column("actor_kind", Text, nullable=False, server_default="client"),  # client | person
    Column("role", Text, nullable=False),
    Column("person_ref", Text, nullable=False),
    Column("action", Text, nullable=False),  # read | lookup | reveal | export
    Column("route", Text, nullable=False),  # method and path template
    Column("status", Integer, nullable=False),  # what the caller got
    Column("request_id", Text),
    Index(None, "person_ref", "access_id"),
    Index(None, "client_id", "access_id"),
    Index(None, "at"),
)

# Receipts hold no region (a provincial file spans every city), so a batch is its uploader's: only
# that client reads its receipt or retracts it through the gateway.
feed_batches = Table(
    "feed_batches",
    metadata,
    Column("batch_id", UUID(as_uuid=True), primary_key=True),
    Column("service", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("uploaded_by", Text),  # the person who uploaded it for the client through the console
)

# An officer's account (accounts.py): a person who signs in as themselves. Role, regions and extra
# scopes follow the clients' rules; a bureau's person acts for its feed client (`acts_for`). The
# TOTP secret is sealed with the kernel's FieldCipher ("key_id:base64"); passwords only as argon2id.
accounts = Table(
    "accounts",
    metadata,
    Column("username", Text, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("regions", ARRAY(Text), nullable=False),
    Column("extra_scopes", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("acts_for", Text),
    Column("password_hash", Text),  # null: signs in only through the identity provider
    Column("must_change_password", Boolean, nullable=False, server_default=false()),
    Column("password_changed_at", DateTime(timezone=True)),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("totp_secret", Text),
    Column("totp_pending", Text),  # enrolled but not confirmed with a code yet
    Column("totp_last_step", BigInteger),  # the last code's time step: a code is good once
    Column("oidc_subject", Text, unique=True),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", Text, nullable=False),
)

# Every change of an account, appended: who did what to whom, with old → new values (never a hash or secret).
account_changes = Table(
    "account_changes",
    metadata,
    Column("change_id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("username", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("changes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("request_id", Text),
    Index(None, "username", "change_id"),
)

# A browser session (sessions.py): the cookie's value is known only to the browser; this holds its SHA-256.
sessions = Table(
    "sessions",
    metadata,
    Column("session_hash", Text, primary_key=True),
    Column("username", Text, ForeignKey("accounts.username", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("via", Text, nullable=False),  # password | oidc
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Index(None, "username"),
)

# A sign-in through the identity provider under way: its state (hashed), nonce and PKCE verifier.
oidc_logins = Table(
    "oidc_logins",
    metadata,
    Column("state_hash", Text, primary_key=True),
    Column("nonce", Text, nullable=False),
    Column("code_verifier", Text, nullable=False),
    Column("return_to", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# An officer's saved view (console/saved_views.py): a console list page's filters under a name of their own.
# `query` is the page's query string, checked against the page's known filters before it is stored.
saved_views = Table(
    "saved_views",
    metadata,
    Column("view_id", BigInteger, primary_key=True, autoincrement=True),
    Column("username", Text, ForeignKey("accounts.username", ondelete="CASCADE"), nullable=False),
    Column("page", Text, nullable=False),  # findings | cases
    Column("name", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("username", "page", "name"),
)
