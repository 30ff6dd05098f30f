"""The embedded PostgreSQL runs with the settings of a database server of its own (`server_settings`)."""

from __future__ import annotations

from pathlib import Path

from devtools.embedded import EmbeddedPostgres, server_settings


def _setting(server: EmbeddedPostgres, name: str) -> str:
    return server._server.psql(
        f"COPY (SELECT setting || coalesce(unit, '') FROM pg_settings WHERE name = '{name}') TO STDOUT"
    ).strip()


def test_the_embedded_server_takes_its_settings_on_its_first_start_and_keeps_them(tmp_path: Path) -> None:
    wanted = server_settings()
    server = EmbeddedPostgres(tmp_path / "postgres")
    try:
        shared_buffers_mb = int(wanted["shared_buffers"].removesuffix("MB"))
        assert _setting(server, "shared_buffers") == f"{shared_buffers_mb * 1024 // 8}8kB"  # not the default 128 MB
        assert _setting(server, "max_wal_size") == "8192MB"
        assert _setting(server, "checkpoint_timeout") == "900s"
        assert _setting(server, "max_locks_per_transaction") == "1024"
    finally:
        server.stop()
    again = EmbeddedPostgres(tmp_path / "postgres")  # the same data directory: nothing to set, no second restart
    try:
        assert not again._configure(wanted)
        assert _setting(again, "max_wal_size") == "8192MB"
    finally:
        again.stop()
