"""`--fetch`: crawl one user into the store through the crawler, so they can be folded in."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from recommender.errors import RecommenderError
from recommender.serving.recommender import NotFound

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from kitsu_ingest.kitsu.config import ApiConfig

__all__ = ["fetch_user"]


def fetch_user(engine: Engine, api: ApiConfig, user_id: int) -> None:
    """Crawl user `user_id` (profile, library, favourites, their anime) from `api` into the store."""
    from kitsu_ingest.crawl import CrawlPlan, run_crawl
    from kitsu_ingest.errors import UnreachableError

    try:
        summary = asyncio.run(run_crawl(engine, api, CrawlPlan(users=(user_id,))))
    except UnreachableError as exc:
        raise RecommenderError(f"cannot fetch user {user_id}: {exc}") from None
    if summary.users_missing:
        raise NotFound(f"user {user_id} does not exist on Kitsu ({api.base_url})")
    if summary.users_failed or summary.status != "done":
        raise RecommenderError(f"fetching user {user_id} failed (crawl run {summary.run_id}: "
                               f"{summary.status}); try again or `kitsu-ingest crawl --resume`")
