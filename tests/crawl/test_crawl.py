from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import CrawlPlan, CrawlProgress, ledger, sample_offsets
from kitsu_ingest.crawl.ledger import STALE_AFTER, utcnow
from kitsu_ingest.crawl.lock import CrawlLock, try_lock
from kitsu_ingest.emulator import FaultConfig
from kitsu_ingest.errors import ConfigError, StoreError
from kitsu_ingest.store import CrawlRun, CrawlUser, User

from .conftest import run_crawl, snapshot, stored_rows, truth_rows


def crawled_users(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(User.__table__.c.id).order_by(User.__table__.c.id)).scalars())


def test_sample_offsets_are_seeded_pages() -> None:
    offsets = sample_offsets(1000, 95, seed=4)
    assert offsets == sample_offsets(1000, 95, seed=4) != sample_offsets(1000, 95, seed=5)
    assert len(offsets) == 5 and len(set(offsets)) == 5 and all(o % 20 == 0 and o < 1000 for o in offsets)
    assert len(sample_offsets(30, 500, seed=1)) == 2


def test_sample_crawl_is_complete_and_exact(store: Engine) -> None:
    summary = run_crawl(store, CrawlPlan(sample=90, seed=1))
    users = crawled_users(store)
    assert summary.status == "done" and summary.users_done == 90 == len(users)
    entries, favorites = truth_rows(users)
    assert stored_rows(store) == (entries, favorites)
    assert summary.entries == len(entries) and summary.favorites == len(favorites)
    assert summary.nsfw_unresolved == 0
    with store.connect() as conn:
        anime = conn.execute(select(func.count()).select_from(CrawlUser.__table__)).scalar_one()
    assert anime == 90


def test_heavy_batches_are_cut_and_the_crawl_stays_exact(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitsu_ingest.crawl import fetch, pipeline

    cuts: list[int] = []
    real_split = pipeline.split_batch

    def split(batch: pipeline.Batch, entries: int) -> list[pipeline.Batch]:
        cuts.append(entries)
        return real_split(batch, entries)

    monkeypatch.setattr(fetch, "MAX_BATCH_ENTRIES", 150)
    monkeypatch.setattr(pipeline, "MAX_BATCH_ENTRIES", 150)
    monkeypatch.setattr(pipeline, "split_batch", split)
    summary = run_crawl(store, CrawlPlan(sample=90, seed=1))
    users = crawled_users(store)
    assert cuts and all(entries > 150 for entries in cuts)
    assert summary.status == "done" and summary.users_done == 90 == len(users)
    assert stored_rows(store) == truth_rows(users)


def test_split_batch_cuts_into_parts_of_about_the_limit() -> None:
    from kitsu_ingest.crawl.fetch import MAX_BATCH_ENTRIES
    from kitsu_ingest.crawl.pipeline import split_batch

    batch = [(uid, 0) for uid in range(1, 21)]
    parts = split_batch(batch, 3 * MAX_BATCH_ENTRIES - 1)
    assert [len(p) for p in parts] == [7, 7, 6] and [user for part in parts for user in part] == batch
    assert len(split_batch(batch, MAX_BATCH_ENTRIES + 1)) == 2  # always at least two
    assert split_batch(batch[:2], 100 * MAX_BATCH_ENTRIES) == [batch[:1], batch[1:2]]  # never below one user


def test_crawling_twice_changes_nothing(store: Engine) -> None:
    run_crawl(store, CrawlPlan(sample=40, seed=2))
    first = snapshot(store)
    second = run_crawl(store, CrawlPlan(sample=40, seed=2))
    assert second.status == "done"
    assert snapshot(store) == first


def test_given_users_with_a_deleted_one(store: Engine) -> None:
    present = run_crawl(store, CrawlPlan(sample=3, seed=9))
    users = crawled_users(store)
    summary = run_crawl(store, CrawlPlan(users=(70211, *users, 999_999)))
    assert summary.users_missing == 1 and summary.users_done == len(users) + 1
    entries, favorites = truth_rows([70211, *users])
    assert stored_rows(store) == (entries, favorites)
    assert len([e for e in entries if e[1] == 70211]) > 100  # the heavy user of the study
    assert present.status == "done"


def test_interrupted_crawl_resumes_to_the_same_store(store: Engine, store_url: str) -> None:
    reference_users = None

    def stop_after_some(progress: CrawlProgress) -> None:
        if progress.users_done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_crawl(store, CrawlPlan(sample=80, seed=5), on_progress=stop_after_some)
    with store.connect() as conn:
        assert conn.execute(select(CrawlRun.__table__.c.status)).scalar_one() == "interrupted"
    summary = run_crawl(store, CrawlPlan(), resume=True)
    assert summary.status == "done" and summary.users_total == 80
    reference_users = crawled_users(store)
    assert stored_rows(store) == truth_rows(reference_users)
    with pytest.raises(ConfigError, match="nothing to resume"):
        run_crawl(store, CrawlPlan(), resume=True)


def test_a_live_crawl_locks_the_store_and_a_dead_one_does_not(store: Engine) -> None:
    run_crawl(store, CrawlPlan(sample=5, seed=1))
    runs = CrawlRun.__table__
    with store.begin() as conn:  # a crawl killed a moment ago: still `running`, a fresh heartbeat
        conn.execute(update(runs).values(status="running", heartbeat_at=utcnow()))
    live = try_lock(store)  # ... or a live one, which holds the store's lock
    assert live is not None and live.exclusive
    try:
        with pytest.raises(StoreError, match=r"another crawl \(run 1"):
            run_crawl(store, CrawlPlan(sample=5, seed=1))
        assert try_lock(store) is None
    finally:
        live.release()
    # The lock died with its holder: the fresh heartbeat does not make the dead run look alive.
    assert run_crawl(store, CrawlPlan(sample=5, seed=1)).status == "done"
    with store.connect() as conn:
        assert conn.execute(select(runs.c.status).order_by(runs.c.id)).scalars().all() == ["interrupted", "done"]


def test_without_an_os_lock_the_heartbeat_decides(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "try_lock", lambda engine: CrawlLock())  # a lock that proves nothing
    run_crawl(store, CrawlPlan(sample=5, seed=1))
    runs = CrawlRun.__table__
    with store.begin() as conn:
        conn.execute(update(runs).values(status="running", heartbeat_at=utcnow()))
    with pytest.raises(StoreError, match="another crawl"):
        run_crawl(store, CrawlPlan(sample=5, seed=1))
    with store.begin() as conn:  # the process was killed: its heartbeat went stale
        conn.execute(update(runs).values(heartbeat_at=utcnow() - STALE_AFTER * 2))
    assert run_crawl(store, CrawlPlan(sample=5, seed=1)).status == "done"


def test_since_refreshes_only_recent_entries(store: Engine) -> None:
    run_crawl(store, CrawlPlan(sample=20, seed=4))
    before = stored_rows(store)
    summary = run_crawl(store, CrawlPlan(since=utcnow()))
    assert summary.status == "done" and summary.entries == 0
    assert summary.users_done == len(crawled_users(store))
    assert stored_rows(store) == before


def test_a_rate_limit_without_retry_after_fails_no_user(tmp_path: Path) -> None:
    """`emulator --rate-limit --no-retry-after` against `crawl --rate 0`: 429s slow the client down
    before they cost attempts (users failed once their attempts went on 429s)."""
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path}/limited.db")
    upgrade(engine)
    summary = run_crawl(engine, CrawlPlan(sample=60, seed=1), faults=FaultConfig(rate_limit=20, retry_after=False),
                        max_attempts=3)
    users = crawled_users(engine)
    assert summary.status == "done" and summary.users_failed == 0 and len(users) == 60
    assert summary.retries["429"] > 0 and stored_rows(engine) == truth_rows(users)


def test_faults_and_kills_end_in_the_fault_free_store(store: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    plan = CrawlPlan(sample=40, seed=8)
    clean = make_engine(f"sqlite:///{tmp_path}/clean.db")
    upgrade(clean)
    run_crawl(clean, plan)
    faults = FaultConfig(p_5xx=0.10, p_429=0.05, p_hang=0.02, hang_seconds=1.0, p_malformed=0.01,
                         p_drop=0.01, retry_after=False, seed=11)
    # Killed while choosing users, then twice while crawling.
    kills = iter([("choosing users", 20), ("crawling", 10), ("crawling", 25)])
    phase, limit = next(kills)

    retries_seen: list[int] = [0]

    def kill(progress: CrawlProgress) -> None:
        retries_seen[-1] = sum(progress.retries.values())
        count = progress.users_total if phase == "choosing users" else progress.users_done
        if progress.phase == phase and count >= limit:
            raise KeyboardInterrupt

    runs, resume = 0, False
    while True:
        runs += 1
        assert runs < 10
        retries_seen.append(0)
        try:
            summary = run_crawl(store, plan, faults=faults, resume=resume, on_progress=kill, timeout=0.3)
        except KeyboardInterrupt:
            phase, limit = next(kills, ("never", 0))
            resume = True
            continue
        if summary.status == "done":
            break
        resume = True
    assert runs >= 4 and sum(retries_seen) > 0
    assert snapshot(store) == snapshot(clean)


def _cli(store_url: str) -> list[str]:
    return [sys.executable, "-m", "kitsu_ingest.cli", "crawl", "--database-url", store_url, "--emulator",
            "--emulator-users", "600", "--emulator-seed", "3", "--rate", "0", "--quiet"]


def _started(command: list[str], engine: Engine, cwd: Path) -> tuple[subprocess.Popen[str], int]:
    """A crawl in a process of its own, once it has stored some users (or ended, or a minute passed)."""
    process = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, text=True)
    done_users = 0
    deadline = time.monotonic() + 60
    while done_users == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        with engine.connect() as conn:
            done_users = conn.execute(
                select(func.count()).where(CrawlUser.__table__.c.state == "done")
            ).scalar_one()
    return process, done_users


def test_sigkill_at_any_moment_then_resume(store_url: str, tmp_path: Path) -> None:
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    engine = make_engine(store_url)
    upgrade(engine)
    process, done_users = _started([*_cli(store_url), "--sample", "120", "--seed", "6"], engine, tmp_path)
    killed = process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    # The killed crawl left its run `running` with a fresh heartbeat, but its lock died with it:
    # the resume is accepted at once.
    done = subprocess.run([*_cli(store_url), "--resume"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    users = crawled_users(engine)
    assert len(users) == 120
    assert stored_rows(engine) == truth_rows(users)
    assert killed and 0 < done_users < 120


def test_sigterm_stops_a_crawl_as_ctrl_c_does(store_url: str, tmp_path: Path) -> None:
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    engine = make_engine(store_url)
    upgrade(engine)
    process, done_users = _started([*_cli(store_url), "--sample", "120", "--seed", "6"], engine, tmp_path)
    assert process.poll() is None and 0 < done_users < 120
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert err.startswith("error: terminated") and err.count("\n") == 1, err
    with engine.connect() as conn:
        assert conn.execute(select(CrawlRun.__table__.c.status)).scalar_one() == "interrupted"
    done = subprocess.run([*_cli(store_url), "--resume"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    users = crawled_users(engine)
    assert len(users) == 120 and stored_rows(engine) == truth_rows(users)


def test_a_plan_with_ids_the_store_cannot_hold_is_refused(store: Engine) -> None:
    for users in [(2**63,), (5, 0), (-3,)]:
        with pytest.raises(ConfigError, match="is not a Kitsu id"):
            run_crawl(store, CrawlPlan(users=users))
    summary = run_crawl(store, CrawlPlan(users=(2**63 - 1, 2)))  # the largest id fits (and is missing)
    assert summary.status == "done" and summary.users_missing == 1 and summary.users_done == 1


def test_a_stored_run_that_can_never_start_is_set_aside(store: Engine) -> None:
    runs = CrawlRun.__table__
    with store.begin() as conn:  # what an older version stored for `crawl --users 99999999999999999999`
        conn.execute(runs.insert().values(started_at=utcnow(), status="interrupted", base_url="x",
                                          params={"users": [99999999999999999999], "batch_users": 20}))
    with pytest.raises(ConfigError, match=r"cannot be resumed .* start a new crawl"):
        run_crawl(store, CrawlPlan(), resume=True)
    with store.connect() as conn:
        assert conn.execute(select(runs.c.status)).scalar_one() == ledger.ABANDONED
    with pytest.raises(ConfigError, match="nothing to resume"):
        run_crawl(store, CrawlPlan(), resume=True)
    assert run_crawl(store, CrawlPlan(users=(2,))).status == "done"
