"""run_crawl: the crawl from an ApiConfig, as the CLI and the recommender call it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import CrawlPlan, CrawlProgress, run_crawl
from kitsu_ingest.kitsu import ApiConfig, KitsuClient
from kitsu_ingest.settings import get_settings

from .conftest import POPULATION, SEED, stored_rows, truth_rows


def emulated(**settings: object) -> ApiConfig:
    return ApiConfig.from_settings(get_settings(kitsu_rate=0, **settings), emulator=(POPULATION, SEED))


def test_run_crawl_fetches_the_plan_through_the_configured_api(store: Engine) -> None:
    seen: list[CrawlProgress] = []
    summary = asyncio.run(run_crawl(store, emulated(), CrawlPlan(users=(1, 2, 3)), on_progress=seen.append))
    assert summary.status == "done" and summary.users_done == 3 and seen
    assert stored_rows(store) == truth_rows([1, 2, 3])


def test_run_crawl_logs_in_only_with_credentials(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    logins: list[tuple[str, str]] = []

    async def login(self: KitsuClient, username: str, password: str) -> None:
        logins.append((username, password))

    monkeypatch.setattr(KitsuClient, "login", login)
    asyncio.run(run_crawl(store, emulated(), CrawlPlan(users=(1,))))
    assert logins == []
    asyncio.run(run_crawl(store, emulated(kitsu_username="ann", kitsu_password="pw"), CrawlPlan(users=(2,))))
    assert logins == [("ann", "pw")]
