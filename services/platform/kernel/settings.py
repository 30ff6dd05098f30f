"""Settings every service reads from its environment: one object per process, nothing else reads os.environ."""

from __future__ import annotations

import base64
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.credentials import DEV_CALLER_VERIFY_KEY, DEV_SERVICE_SECRET

# Development-only secrets: fixed so that a local run and its tests agree on pseudonyms.
# A production deployment refuses to start with them (see ServiceSettings._refuse_dev_secrets).
DEV_PEPPER = "dev-only-pepper-not-for-production"
DEV_ENCRYPTION_KEYS = "dev1:" + base64.b64encode(b"dev-only-aes-256-key-32-bytes!!!").decode()


class Environment(StrEnum):
    development = "development"
    production = "production"


class ServiceSettings(BaseSettings):
    """The settings shared by every service. A service subclasses it to add its own."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = "suite"
    environment: Environment = Environment.development
    log_level: str = "INFO"

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        description="This service's own database (postgresql://user:password@host:port/dbname).",
    )
    database_pool_size: int = 10

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_partitions: int = Field(
        6, description="Partitions of every person-keyed topic; the same number everywhere."
    )
    kafka_topic_prefix: str = Field(
        "", description="Put before every topic name: separates suites (or test runs) sharing one cluster."
    )
    kafka_replication_factor: int = Field(
        1, ge=1, description="Copies of every topic the services create (3 in a three-broker cluster)."
    )
    kafka_delivery_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long the outbox relay's producer tries to deliver a batch before it gives up; the "
        "rows stay in the outbox and go again. A broker that restarts empty must stay down longer than this.",
    )
    kafka_session_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long a consumer group member may go without a heartbeat before the group drops it "
        "(heartbeats every third of it). The embedded broker makes a joining member wait half of it.",
    )
    kafka_fetch_max_wait_ms: int = Field(
        500,
        gt=0,
        description="How long the broker may hold a consumer's fetch that finds nothing. Apache Kafka answers as "
        "soon as a record arrives, so this only bounds idle round trips; the embedded broker answers some way into "
        "the wait, so there it is what a lone record waits (`./dev up` and the tests set 100).",
    )
    kafka_compression_type: Literal["lz4", "zstd", "snappy", "gzip", "none"] = Field(
        "lz4",
        description="How the outbox relays compress what they publish (each batch of messages as a whole); "
        "consumers decompress whatever they are sent. The events are JSON that repeats its field names and units: "
        "lz4 sends a batch of a synthetic province's contributions at a twentieth of its size; on one machine the "
        "broker saves about the CPU the relays spend on it, so what it buys is bytes on the network and disks.",
    )
    kafka_enable_idempotence: bool = Field(
        False, description="Turn on where the broker supports it (Apache Kafka does; the embedded broker does not)."
    )

    pseudonym_pepper: SecretStr = SecretStr(DEV_PEPPER)
    encryption_keys: SecretStr = Field(
        SecretStr(DEV_ENCRYPTION_KEYS),
        description="Comma-separated key_id:base64(32-byte key) pairs; old keys stay for decryption.",
    )
    encryption_active_key_id: str = "dev1"

    caller_verify_key: str = Field(
        DEV_CALLER_VERIFY_KEY,
        description="The gateway's public Ed25519 key (base64 of 32 bytes): verifies the caller credential "
        "the gateway sends with every request it forwards.",
    )
    service_credential_secret: SecretStr = Field(
        SecretStr(DEV_SERVICE_SECRET),
        description="The secret the services share to sign and verify service credentials (internal endpoints).",
    )

    outbox_relay_enabled: bool = True
    outbox_batch_size: int = 2000
    outbox_poll_seconds: float = Field(
        5.0,
        gt=0,
        description="How often the outbox relay looks without being woken: a safety net, since the commit that "
        "fills the outbox wakes it (LISTEN/NOTIFY); also how often a standby instance tries to take over.",
    )

    max_errors_in_receipt: int = 1000
    max_workbook_bytes: int = Field(
        128 * 1024**2,
        gt=0,
        description="Bytes an xlsx/xls upload may hold: a workbook is read whole into memory (about 25 times "
        "its size); larger exports are sent as CSV.",
    )

    plausible_since: date = Field(
        date(2000, 1, 1), description="The earliest review month, payment period or date the suite accepts."
    )
    plausible_months_ahead: int = Field(
        1, ge=0, le=12, description="How many months after the current one a month or date may lie."
    )

    upstream_urls: str = Field(
        "",
        description="Comma-separated base URLs of the services whose events this one consumes: its "
        "progress report waits until their outboxes are published (events accepted but not yet on the bus).",
    )
    # Where the data services are, for the calls a user waits on: the gateway forwards to them, registry-svc
    # reads the centres' answers to its check requests, insurance-svc and fund-svc read those requests.
    registry_url: str = "http://127.0.0.1:8101"
    insurance_url: str = "http://127.0.0.1:8102"
    fund_url: str = "http://127.0.0.1:8103"

    data_minimisation: bool = Field(
        False,
        description="insurance-svc and fund-svc keep an uploaded row only for a person on a check request issued "
        "to that centre for the row's region (registry-svc); other rows are rejected as `not_requested`.",
    )

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> ServiceSettings:
        if self.environment is Environment.production:
            if self.pseudonym_pepper.get_secret_value() == DEV_PEPPER:
                raise ValueError("PSEUDONYM_PEPPER must be set in production")
            if self.encryption_keys.get_secret_value() == DEV_ENCRYPTION_KEYS:
                raise ValueError("ENCRYPTION_KEYS must be set in production")
            if self.caller_verify_key == DEV_CALLER_VERIFY_KEY:
                raise ValueError("CALLER_VERIFY_KEY must be set in production (the gateway's public key)")
            if self.service_credential_secret.get_secret_value() == DEV_SERVICE_SECRET:
                raise ValueError("SERVICE_CREDENTIAL_SECRET must be set in production")
        if self.encryption_active_key_id not in self.encryption_key_map:
            raise ValueError("ENCRYPTION_ACTIVE_KEY_ID names no key in ENCRYPTION_KEYS")
        return self

    @cached_property
    def encryption_key_map(self) -> dict[str, bytes]:
        keys: dict[str, bytes] = {}
        for pair in self.encryption_keys.get_secret_value().split(","):
            key_id, _, encoded = pair.strip().partition(":")
            key = base64.b64decode(encoded)
            if len(key) != 32:
                raise ValueError(f"encryption key {key_id!r} is not 32 bytes")
            keys[key_id] = key
        return keys

    @property
    def upstreams(self) -> list[str]:
        return [url.strip().rstrip("/") for url in self.upstream_urls.split(",") if url.strip()]

    def topic(self, name: str) -> str:
        """The broker's name for a contract topic such as `registry.registrations`."""
        return self.kafka_topic_prefix + name

    @property
    def async_database_url(self) -> str:
        """The same URL for SQLAlchemy's asyncpg dialect."""
        scheme, sep, rest = self.database_url.partition("://")
        return f"postgresql+asyncpg{sep}{rest}" if scheme in {"postgresql", "postgres"} else self.database_url
