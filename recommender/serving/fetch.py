"""`--fetch`: crawl one user into the store through the crawler, so they can be folded in.

The client is built from settings as `kitsu-ingest crawl` builds it; `emulator=(users, seed)`
crawls an in-process Kitsu emulator instead (offline, for tests and demos).
"""

from __future__ import annotations

import asyncio
from typing import Any

from recommender.errors import RecommenderError
from recommender.serve import NotFound

__all__ = ["EMULATOR_URL", "fetch_user"]

EMULATOR_URL = "http://kitsu.emulator/api/edge"


def fetch_user(database_url: str | None, user_id: int, *, emulator: tuple[int, int] | None = None,
               transport: Any = None) -> None:
    """Crawl user `user_id` (profile, library, favourites, their anime) into the store."""
    from kitsu_ingest.crawl import CrawlPlan, crawl
    from kitsu_ingest.errors import UnreachableError
    from kitsu_ingest.kitsu.client import KitsuClient
    from kitsu_ingest.settings import get_settings
    from kitsu_ingest.store.migrate import open_store

    settings = get_settings(database_url=database_url)
    if emulator is not None and transport is None:
        import httpx

        from kitsu_ingest.emulator import EmulatorConfig, create_app

        app = create_app(EmulatorConfig(users=emulator[0], seed=emulator[1]))
        transport = httpx.ASGITransport(app=app)
    url = EMULATOR_URL if transport is not None else settings.kitsu_base_url
    engine = open_store(settings.database_url)

    async def run() -> Any:
        client = KitsuClient(url, rate=settings.kitsu_rate or None,
                             concurrency=settings.kitsu_concurrency, timeout=settings.kitsu_timeout,
                             max_attempts=settings.kitsu_max_attempts,
                             user_agent=settings.kitsu_user_agent, transport=transport)
        async with client:
            return await crawl(engine, client, CrawlPlan(users=(user_id,)))

    try:
        summary = asyncio.run(run())
    except UnreachableError as exc:
        raise RecommenderError(f"cannot fetch user {user_id}: {exc}") from None
    finally:
        engine.dispose()
    if summary.users_missing:
        raise NotFound(f"user {user_id} does not exist on Kitsu ({url})")
    if summary.users_failed or summary.status != "done":
        raise RecommenderError(f"fetching user {user_id} failed (crawl run {summary.run_id}: "
                               f"{summary.status}); try again or `kitsu-ingest crawl --resume`")
