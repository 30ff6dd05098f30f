"""The embedded PostgreSQL runs with the settings of a database server of its own (`server_settings`); free ports
are handed out once."""

from __future__ import annotations

import socket
from pathlib import Path

from devtools.embedded import EmbeddedPostgres, free_port, server_settings


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


def test_a_free_port_is_handed_out_once_even_before_anyone_listens_on_it() -> None:
    """Two suites started side by side pick their ports before their services listen: the system's free port
    repeats among a few thousand picks (a birthday collision), free_port's must not."""
    ports = [free_port() for _ in range(3000)]
    assert len(set(ports)) == len(ports)
    with socket.socket() as held:  # one that is taken, or handed out before, is not given as the preferred one
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        assert free_port(preferred=taken) != taken
    assert free_port(preferred=ports[0]) != ports[0]
