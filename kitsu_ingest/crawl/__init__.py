"""Crawling Kitsu into the store: sampling, batched fetching, resumable bookkeeping.

    crawler   the crawl over an open client: choose users, fetch them in batches, stream to the store
    run       `run_crawl`: the crawl from an ApiConfig (client opened, logged in, closed)
    ledger    the run and its users' progress (lock, heartbeat, resume)
    writer    what to do with what came back: rows and progress in one transaction, errors filed
    fetch     one batch of users' libraries and favourites, with their anime
    mapping   JSON:API resources -> store rows (pure)
"""

from __future__ import annotations

from kitsu_ingest.crawl.crawler import CrawlPlan, CrawlProgress, crawl, sample_offsets
from kitsu_ingest.crawl.run import run_crawl

__all__ = ["CrawlPlan", "CrawlProgress", "crawl", "run_crawl", "sample_offsets"]
