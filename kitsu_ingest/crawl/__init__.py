"""Crawling Kitsu into the store: sampling, batched fetching, resumable bookkeeping."""

from kitsu_ingest.crawl.crawler import CrawlPlan, CrawlProgress, crawl, sample_offsets

__all__ = ["CrawlPlan", "CrawlProgress", "crawl", "sample_offsets"]
