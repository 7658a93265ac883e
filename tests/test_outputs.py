"""Output files written whole or not at all, and what killed writes leave behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kitsu_ingest.outputs import pid_alive, written_whole


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), written_whole(target) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_the_next_write_removes_partials_of_killed_writers(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    assert not pid_alive(pid)
    target = tmp_path / "recs.parquet"
    left = tmp_path / f".recs.{pid}-deadbeef.partial.parquet"
    mine = tmp_path / f".recs.{1}-cafe.partial.parquet"  # pid 1 lives: a write in progress elsewhere
    other = tmp_path / f".other.{pid}-deadbeef.partial.parquet"
    for path in (left, mine, other):
        path.write_bytes(b"partial")
    with written_whole(target) as partial:
        partial.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert not left.exists() and mine.exists() and other.exists()
