"""One small store with everything the dashboard shows, built once per session on SQLite (a few
seconds): the serving tests' three taste groups (tests/serve/conftest.py), an anime with a non-ASCII
title, a finished crawl run with errors of two kinds and one in progress, a real segmentation run
(tiers, k sweep, clusters, plots) and a model saved by a real, short search (test figures of every
baseline, history and parameter plots)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl.ledger import utcnow
from kitsu_ingest.crawl.lock import try_lock
from kitsu_ingest.store import make_engine
from kitsu_ingest.store.migrate import upgrade
from kitsu_ingest.store.models import Anime, CrawlError, CrawlRun, CrawlUser, User, table
from kitsu_ingest.store.upsert import upsert

from ..serve.conftest import NOW, fill

NON_ASCII_ID, NON_ASCII_TITLE = 1005, "Kōkaku Kidōtai: Umi no Shōjo"
EMPTY_USER = 900
"""In the store with nothing in their library (tests/serve/conftest.py)."""


@dataclass
class Site:
    url: str
    engine: Engine
    model_dir: Path
    segments_dir: Path
    version: str
    card: Any

    def app(self, model_dir: Path | None = None, segments_dir: Path | None = None, url: str | None = None) -> Any:
        """The served app (API and dashboard), its model loaded."""
        from recommender.dashboard import DashboardConfig
        from recommender.data.store import StoreReader
        from recommender.serving.holder import ModelHolder
        from recommender.webapp import create_app

        holder = ModelHolder(model_dir or self.model_dir, None, StoreReader.open(url or self.url), interval=60)
        holder.refresh()
        config = DashboardConfig(segments_dir=segments_dir or self.segments_dir, counts_wait=30)
        return create_app(holder, watch=False, dashboard=config)


def _crawl_runs(engine: Engine) -> None:
    now = utcnow()
    done = {"users_total": 60, "users_done": 60, "entries": 900, "requests": 75, "elapsed": 12.0,
            "retries": {"429": 3}, "status": "done"}
    live = {"users_total": 100, "users_done": 40, "entries": 700, "requests": 50, "elapsed": 20.0, "status": "running"}
    runs = [
        {"id": 1, "started_at": NOW, "finished_at": NOW + timedelta(seconds=12), "heartbeat_at": NOW, "status": "done",
         "base_url": "emulator", "params": {"sample": 60, "seed": 0}, "summary": done},
        {"id": 2, "started_at": now - timedelta(seconds=20), "finished_at": None, "heartbeat_at": now,
         "status": "running", "base_url": "emulator", "params": {"sample": 100, "seed": 1}, "summary": live},
    ]
    users = ([{"run_id": 1, "user_id": u, "state": "done"} for u in range(1, 61)]
             + [{"run_id": 2, "user_id": u, "state": "done" if u <= 40 else "pending"} for u in range(1, 101)])
    errors = [{"run_id": 1, "user_id": 3, "kind": kind, "message": "x", "created_at": NOW}
              for kind in ("malformed", "malformed", "nsfw")]
    with engine.begin() as conn:
        for model, rows in ((CrawlRun, runs), (CrawlUser, users), (CrawlError, errors)):
            conn.execute(insert(table(model)), rows)


def _segment(engine: Engine, out: Path) -> None:
    from kitsu_ingest.segment import FeatureSpec, SegmentOptions, segment_users

    users = table(User)
    with engine.begin() as conn:  # engagement counters, for the tiers (user 900 stays inactive)
        conn.execute(update(users).where(users.c.id < 900).values(
            life_spent_on_anime=users.c.id * users.c.id * 50, ratings_count=users.c.id % 7))

    segment_users(engine, SegmentOptions(ks=(2, 3), features=FeatureSpec(dims=4), silhouette_sample=50,
                                         fit_sample=50, out_dir=out))


def _train(engine: Engine, model_dir: Path) -> Any:
    from recommender.data.events import EventWeights
    from recommender.data.sources import load_interactions
    from recommender.data.store import StoreReader
    from recommender.evaluation.tuning import SearchConfig
    from recommender.training import TrainConfig, train_and_save

    store = StoreReader(engine)
    data = load_interactions(None, store=store)
    search = SearchConfig(families=("als", "itemknn"), seconds=None, trials=6)
    card, _ = train_and_save(data, TrainConfig(), search, model_dir, weights=EventWeights(), source={"kind": "store"},
                             clusters=None)
    return card


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{root / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    fill(engine)
    upsert(engine, table(Anime), [{"id": NON_ASCII_ID, "canonical_title": NON_ASCII_TITLE, "slug": "umi",
                                   "subtype": "TV", "popularity_rank": 6, "nsfw": False, "fetched_at": NOW}])
    _crawl_runs(engine)
    crawl = try_lock(engine)  # run 2 is in progress: a live crawl holds the store's crawl lock
    assert crawl is not None
    _segment(engine, root / "segments")
    card = _train(engine, root / "models")
    try:
        yield Site(url, engine, root / "models", root / "segments", card.version, card)
    finally:
        crawl.release()
    engine.dispose()
