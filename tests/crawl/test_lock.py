"""The store's crawl lock: exclusive while held, released by `release` or by the holder's death
(the kill tests in test_crawl.py), and never taken for proof where the OS cannot keep it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, update
from sqlalchemy.engine import Engine

from kitsu_ingest.cli import main
from kitsu_ingest.crawl import CrawlPlan
from kitsu_ingest.crawl.ledger import utcnow
from kitsu_ingest.crawl.lock import holder, lock_path, try_lock
from kitsu_ingest.errors import ConfigError
from kitsu_ingest.store import CrawlRun, make_engine

from .conftest import run_crawl


def test_the_lock_is_exclusive_until_released(store: Engine) -> None:
    first = try_lock(store)
    assert first is not None and first.exclusive
    assert try_lock(store) is None
    first.release()
    first.release()  # idempotent
    second = try_lock(store)
    assert second is not None
    second.release()


def test_sqlite_locks_a_file_beside_the_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/kitsu.db")
    assert lock_path(engine) == tmp_path / "kitsu.db.crawl-lock"
    lock = try_lock(engine)
    assert lock is not None and lock.exclusive
    assert holder(engine) == f"pid {os.getpid()} on {socket.gethostname()}"
    lock.release()


def test_an_in_memory_database_gets_a_lock_that_proves_nothing() -> None:
    engine = create_engine("sqlite://")  # (make_engine refuses one for the store)
    assert lock_path(engine) is None
    lock = try_lock(engine)
    assert lock is not None and not lock.exclusive
    lock.release()


def test_a_crawl_releases_the_lock_however_it_ends(store: Engine) -> None:
    with pytest.raises(ConfigError, match="nothing to resume"):
        run_crawl(store, CrawlPlan(), resume=True)
    assert run_crawl(store, CrawlPlan(users=(2,))).status == "done"
    lock = try_lock(store)
    assert lock is not None
    lock.release()


def test_a_crawl_in_another_process_is_refused_while_the_lock_is_held(store: Engine, tmp_path: Path) -> None:
    url = store.url.render_as_string(hide_password=False)
    live = try_lock(store)
    assert live is not None
    try:
        refused = subprocess.run(
            [sys.executable, "-m", "kitsu_ingest.cli", "crawl", "--users", "1", "--emulator", "--emulator-users",
             "50", "--database-url", url], cwd=tmp_path, capture_output=True, text=True)
    finally:
        live.release()
    assert refused.returncode == 2 and refused.stderr.startswith("error: another crawl")
    assert refused.stderr.count("\n") == 1


def test_status_tells_a_killed_run_from_a_live_one_by_the_lock(store: Engine) -> None:
    run_crawl(store, CrawlPlan(users=(2,)))
    runs = CrawlRun.__table__
    with store.begin() as conn:  # a crawl killed by kill -9 a moment ago: `running`, a fresh heartbeat
        conn.execute(update(runs).values(status="running", heartbeat_at=utcnow()))
    url = store.url.render_as_string(hide_password=False)

    def status() -> dict[str, Any]:
        result = CliRunner().invoke(main, ["crawl", "--status", "--json", "--database-url", url])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert (status()["status"], status()["alive"]) == ("interrupted", False)  # was "running" for 60 s
    live = try_lock(store)  # a live crawl holds the lock
    assert live is not None
    try:
        assert (status()["status"], status()["alive"]) == ("running", True)
    finally:
        live.release()
