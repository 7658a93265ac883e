"""A resumed run's summary counts the whole run, every session of it: entries, favourites, anime,
requests, retries, time, delta pages and new users, as stored, in `crawl --status` and in the
summary the crawl returns."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kitsu_ingest.cli import main
from kitsu_ingest.crawl import CrawlPlan, CrawlProgress, crawl, delta
from kitsu_ingest.crawl.mapping import parse_time
from kitsu_ingest.emulator import EmulatorConfig, FaultConfig, Population, create_app, ground_truth
from kitsu_ingest.store import Anime, CrawlRun, Favorite, LibraryEntry, make_engine
from kitsu_ingest.store.migrate import upgrade

from .conftest import SEED, make_client, run_crawl
from .test_crawl import crawled_users
from .test_crawl_all import SINCE

FAULTS = FaultConfig(p_5xx=0.05, seed=4)


def stop_at(field: str, limit: int) -> object:
    def stop(progress: CrawlProgress) -> None:
        if getattr(progress, field) >= limit:
            raise KeyboardInterrupt

    return stop


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model.__table__)).scalar_one())


def stored_summary(engine: Engine) -> dict:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return dict(conn.execute(select(CrawlRun.__table__.c.summary)).scalar_one())


def test_a_resumed_crawl_counts_every_session(store: Engine, store_url: str) -> None:
    with pytest.raises(KeyboardInterrupt):
        run_crawl(store, CrawlPlan(sample=80, seed=5), faults=FAULTS, on_progress=stop_at("users_done", 20))
    first = stored_summary(store)
    assert first["entries"] == count(store, LibraryEntry) > 0  # the stored summary counts what was stored
    summary = run_crawl(store, CrawlPlan(), resume=True, faults=FAULTS)
    assert summary.status == "done" and summary.users_done == 80
    # Whole-run figures: what the store holds (it held nothing before), and both sessions' work.
    assert summary.entries == count(store, LibraryEntry) > first["entries"]  # was the last session's alone
    assert summary.favorites == count(store, Favorite) and summary.anime == count(store, Anime)
    assert summary.requests > first["requests"] and summary.elapsed > first["elapsed"]
    assert sum(summary.retries.values()) >= sum(first["retries"].values()) > 0
    assert stored_summary(store)["entries"] == summary.entries
    status = CliRunner().invoke(main, ["crawl", "--status", "--json", "--database-url", store_url])
    progress = json.loads(status.stdout)["progress"]
    assert progress["entries"] == summary.entries and progress["requests"] == summary.requests


def test_a_resumed_delta_counts_every_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delta, "DELTA_PAGE", 50)  # a small site's delta, on several pages
    site = 150
    app = create_app(EmulatorConfig(users=site, seed=SEED))
    engine = make_engine(f"sqlite:///{tmp_path}/delta.db")
    upgrade(engine)

    def crawl_site(plan: CrawlPlan, **options: Any) -> CrawlProgress:
        async def go() -> CrawlProgress:
            async with make_client(app) as client:
                return await crawl(engine, client, plan, **options)

        return asyncio.run(go())

    crawl_site(CrawlPlan(sample=10, seed=3))
    sampled = set(crawled_users(engine))
    with pytest.raises(KeyboardInterrupt):
        crawl_site(CrawlPlan(everyone=True, since=SINCE), on_progress=stop_at("delta_pages", 2))
    summary = crawl_site(CrawlPlan(), resume=True)
    changed = [t.user_id for t in ground_truth(site, SEED) for e in t.entries if parse_time(e.updated_at) >= SINCE]
    after = {uid for uid in Population(site, SEED).user_ids.tolist() if uid > max(sampled)}
    assert summary.status == "done" and summary.delta_pages == len(changed) // 50 + 1 > 2
    assert summary.delta_entries == len(changed) and summary.new_users == len((set(changed) | after) - sampled)
