"""A benchmark's scratch folder (devtools.bench.scratch_folder): a province's run writes gigabytes there (the
generated files, the embedded servers' data and WAL); none of it outlives the run, except the logs of a run that
failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.bench import scratch_folder


def _fill(folder: Path) -> None:
    (folder / "registrations.csv").write_text("id_number\n")
    (folder / "infra" / "postgres" / "pg_wal").mkdir(parents=True)
    (folder / "infra" / "postgres" / "pg_wal" / "000000010000000000000001").write_bytes(b"\0" * 1024)
    (folder / "matcher.log").write_text("started\n")


def test_a_finished_benchmark_leaves_nothing() -> None:
    with scratch_folder() as folder:
        _fill(folder)
    assert not folder.exists()


def test_a_failed_benchmark_keeps_only_its_logs_and_names_them(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError, match="the matcher did not settle"), scratch_folder() as folder:
        _fill(folder)
        raise RuntimeError("the matcher did not settle")
    try:
        assert sorted(path.name for path in folder.iterdir()) == ["matcher.log"]
        assert str(folder) in capsys.readouterr().err
    finally:
        (folder / "matcher.log").unlink()
        folder.rmdir()
