"""Fixtures for crawls against the in-process emulator, and store/truth snapshots to compare."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import CrawlPlan, CrawlProgress, crawl
from kitsu_ingest.crawl.mapping import parse_time
from kitsu_ingest.emulator import EmulatorConfig, FaultConfig, create_app, ground_truth
from kitsu_ingest.kitsu import KitsuClient
from kitsu_ingest.store import Anime, Favorite, LibraryEntry, User

BASE = "http://kitsu.test/api/edge"
POPULATION, SEED = 600, 3


def make_client(app: Any, **kwargs: Any) -> KitsuClient:
    options = {"rate": None, "concurrency": 8, "timeout": 5.0, "max_attempts": 6, "backoff": (0.001, 0.01)}
    return KitsuClient(BASE, transport=httpx.ASGITransport(app=app), **(options | kwargs))


def run_crawl(
    engine: Engine,
    plan: CrawlPlan,
    *,
    faults: FaultConfig | None = None,
    resume: bool = False,
    on_progress: Callable[[CrawlProgress], None] | None = None,
    site: dict[str, Any] | None = None,
    **client_kwargs: Any,
) -> CrawlProgress:
    """Crawl the test population (`site`: its day, churn and growth) with `plan`."""
    app = create_app(EmulatorConfig(users=POPULATION, seed=SEED, faults=faults or FaultConfig(), **(site or {})))

    async def go() -> CrawlProgress:
        async with make_client(app, **client_kwargs) as client:
            return await crawl(engine, client, plan, resume=resume, on_progress=on_progress)

    return asyncio.run(go())


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every Kitsu table's rows in id order, without `fetched_at`."""
    out = {}
    with engine.connect() as conn:
        for model in (User, Anime, LibraryEntry, Favorite):
            table = model.__table__
            columns = [c for c in table.c if c.name != "fetched_at"]
            out[table.name] = [tuple(r) for r in conn.execute(select(*columns).order_by(table.c.id))]
    return out


def truth_rows(user_ids: list[int] | None, site: dict[str, Any] | None = None,
               ) -> tuple[set[tuple[Any, ...]], set[tuple[int, int, int]]]:
    """What the emulator serves for these users (None: everyone), on `site`'s day: entries and
    anime favourites as comparable tuples."""
    entries, favorites = set(), set()
    for truth in ground_truth(POPULATION, SEED, user_ids=user_ids, **(site or {})):
        for e in truth.entries:
            entries.add(
                (e.id, truth.user_id, e.related_anime_id, e.status, e.progress, e.rating_twenty,
                 parse_time(e.updated_at))
            )
        favorites |= {(truth.user_id, aid, rank) for rank, aid in enumerate(truth.favorites["Anime"])}
    return entries, favorites


def stored_rows(engine: Engine) -> tuple[set[tuple[Any, ...]], set[tuple[int, int, int]]]:
    e, f = LibraryEntry.__table__, Favorite.__table__
    with engine.connect() as conn:
        entries = {
            tuple(r)
            for r in conn.execute(
                select(e.c.id, e.c.user_id, e.c.anime_id, e.c.status, e.c.progress, e.c.rating_twenty, e.c.updated_at)
            )
        }
        favorites = {tuple(r) for r in conn.execute(select(f.c.user_id, f.c.anime_id, f.c.fav_rank))}
    return entries, favorites


@pytest.fixture
def crawler() -> Callable[..., CrawlProgress]:
    return run_crawl
