"""Crawling Kitsu into the store: sampling, batched fetching, resumable bookkeeping.

    plan        what to crawl (a sample, given users, every user; a refresh since a time)
    crawler     the crawl over an open client: choose users, fetch them, stream to the store
    users_pages `--all`'s walk over the users pages, safe while the site changes (pure)
    delta       the site-wide delta: entries changed since a time, paged by time
    pipeline    batches of users fetched with bounded concurrency, one writer, bounded memory
    progress    live counters, rates, time left (pure)
    status      a crawl's progress read back from the store alone
    run         `run_crawl`: the crawl from an ApiConfig (client opened, logged in, closed)
    ledger      the run and its users' progress (lock, heartbeat, resume)
    writer      what to do with what came back: rows and progress in one transaction, errors filed
    fetch       one batch of users' libraries and favourites, with their anime
    mapping     JSON:API resources -> store rows (pure)
"""

from __future__ import annotations

from kitsu_ingest.crawl.crawler import crawl
from kitsu_ingest.crawl.plan import CrawlPlan, sample_offsets
from kitsu_ingest.crawl.progress import CrawlProgress
from kitsu_ingest.crawl.run import run_crawl

__all__ = ["CrawlPlan", "CrawlProgress", "crawl", "run_crawl", "sample_offsets"]
