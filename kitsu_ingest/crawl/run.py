"""A whole crawl from an API configuration, callable from Python (`kitsu-ingest crawl` and the
recommender's live fetch both come through here): open the client, log in when the configuration
has credentials, crawl, close the client."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from kitsu_ingest.crawl.crawler import CrawlPlan, CrawlProgress, crawl
from kitsu_ingest.kitsu.client import KitsuClient
from kitsu_ingest.kitsu.config import ApiConfig

__all__ = ["run_crawl"]


async def run_crawl(
    engine: Engine,
    api: ApiConfig,
    plan: CrawlPlan,
    *,
    resume: bool = False,
    on_progress: Callable[[CrawlProgress], None] | None = None,
) -> CrawlProgress:
    """Run (or resume) the crawl `plan` of the API `api` into `engine` and return its summary.

    Raises UnreachableError when the API cannot be reached at all, AuthError for refused
    credentials, and whatever `crawl` raises.
    """
    async with KitsuClient.from_config(api) as client:
        if api.credentials is not None:
            await client.login(*api.credentials)
        return await crawl(engine, client, plan, resume=resume, on_progress=on_progress)
