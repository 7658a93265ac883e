from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import CrawlPlan, CrawlProgress, sample_offsets
from kitsu_ingest.crawl.ledger import STALE_AFTER, utcnow
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


def test_sigkill_at_any_moment_then_resume(store_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys
    import time

    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    engine = make_engine(store_url)
    upgrade(engine)
    cli = [sys.executable, "-m", "kitsu_ingest.cli", "crawl", "--database-url", store_url, "--emulator",
           "--emulator-users", "600", "--emulator-seed", "3", "--rate", "0", "--quiet"]
    process = subprocess.Popen([*cli, "--sample", "120", "--seed", "6"], cwd=tmp_path)
    done_users = 0
    deadline = time.monotonic() + 60
    while done_users == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        with engine.connect() as conn:
            done_users = conn.execute(
                select(func.count()).where(CrawlUser.__table__.c.state == "done")
            ).scalar_one()
    killed = process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with engine.begin() as conn:  # a killed crawl leaves its run `running`; let it look dead
        conn.execute(update(CrawlRun.__table__).values(heartbeat_at=utcnow() - STALE_AFTER * 2))
    done = subprocess.run([*cli, "--resume"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    users = crawled_users(engine)
    assert len(users) == 120
    assert stored_rows(engine) == truth_rows(users)
    assert killed and 0 < done_users < 120
