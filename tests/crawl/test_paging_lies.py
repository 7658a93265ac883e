"""Crawls of an API whose paging lies (the emulator behind tests/kitsu/hostile.Lying): a meta.count
too low, a links.next that loops, that goes on without an offset, or that points to another host.
Nothing is lost silently: what came is stored whole, each lie is counted and filed, and a batch
that cannot be read whole fails, for `--resume` to finish once the API tells the truth."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import CrawlPlan, CrawlProgress, crawl
from kitsu_ingest.emulator import EmulatorConfig, create_app
from kitsu_ingest.store import CrawlError, make_engine
from kitsu_ingest.store.migrate import upgrade
from tests.kitsu.hostile import Lie, Lying

from .conftest import POPULATION, SEED, make_client, run_crawl, stored_rows, truth_rows

HEAVY = (60, 65, 117)  # 668, 740 and 587 library entries (two pages of 500); 60 and 117 have 43 and 35 favourites
LIGHT = (1, 2, 3, 4)
USERS = (*HEAVY, *LIGHT)
PAGED = ("/api/edge/library-entries", "/api/edge/favorites")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/lies.db")
    upgrade(engine)
    return engine


def crawl_lying(engine: Engine, lie: Lie, users: tuple[int, ...] = USERS) -> tuple[CrawlProgress, Lying]:
    app = Lying(create_app(EmulatorConfig(users=POPULATION, seed=SEED)), lie, PAGED)

    async def go() -> CrawlProgress:
        async with make_client(app) as client:
            return await crawl(engine, client, CrawlPlan(users=users))

    return asyncio.run(go()), app


def filed(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(CrawlError.__table__.c.kind)).scalars())


def links(document: dict[str, Any], **changes: str) -> dict[str, Any]:
    return {**document, "links": {**document["links"], **changes}}


def test_a_count_too_low_loses_no_entry(engine: Engine) -> None:
    def one_page(url: str, document: dict[str, Any]) -> dict[str, Any]:  # the count of the first page only
        limit = int(parse_qs(urlsplit(url).query)["page[limit]"][0])
        return {**document, "meta": {**document["meta"], "count": min(document["meta"]["count"], limit)}}

    summary, _ = crawl_lying(engine, one_page)
    assert summary.status == "done" and summary.users_failed == 0
    assert stored_rows(engine) == truth_rows(list(USERS))  # it stored 500 of user 60's 668 entries, 20 of 43 favourites
    assert summary.anomalies["count-too-low"] >= len(HEAVY) and "count-too-low" in filed(engine)


def test_a_next_link_back_to_the_first_page_ends_the_paging(engine: Engine) -> None:
    def loop(_url: str, document: dict[str, Any]) -> dict[str, Any]:
        return document if "next" in document["links"] else links(document, next=document["links"]["first"])

    summary, _ = crawl_lying(engine, loop)
    assert summary.status == "done" and stored_rows(engine) == truth_rows(list(USERS))
    assert summary.anomalies["next-loop"] >= len(USERS) and "next-loop" in filed(engine)


def test_a_next_link_onward_for_ever_ends_and_the_run_resumes(engine: Engine) -> None:
    def onward(url: str, document: dict[str, Any]) -> dict[str, Any]:
        return links(document, next=f"{url}&again=1")  # no offset, never the last page

    summary, _ = crawl_lying(engine, onward)
    assert summary.status == "incomplete" and summary.users_failed == len(HEAVY)  # their second pages never came
    assert summary.anomalies["next-nothing-new"] > 0 and "failed-inconsistent" in filed(engine)
    resumed = run_crawl(engine, CrawlPlan(), resume=True)  # the API tells the truth again
    assert resumed.status == "done" and stored_rows(engine) == truth_rows(list(USERS))


def test_a_next_link_to_another_host_is_not_followed(engine: Engine) -> None:
    def elsewhere(_url: str, document: dict[str, Any]) -> dict[str, Any]:
        following = document["links"].get("next")
        return links(document, next=following.replace("kitsu.test", "evil.test")) if following else document

    summary, app = crawl_lying(engine, elsewhere)
    assert all(host == "kitsu.test" for host in app.hosts)
    assert summary.status == "incomplete" and summary.users_failed == len(HEAVY)
    assert summary.anomalies["next-other-host"] >= len(HEAVY) and "next-other-host" in filed(engine)
    assert run_crawl(engine, CrawlPlan(), resume=True).status == "done"
    assert stored_rows(engine) == truth_rows(list(USERS))
