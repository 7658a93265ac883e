"""Ingest implicit feedback from the Kitsu anime platform into a SQL store.

    kitsu     the API: ApiConfig, the async client, JSON:API parsing
    crawl     sampling / given users / delta, batched fetching, run ledger, row writer
    store     tables, migrations, bulk upserts
    segment   engagement tiers and behavioural clusters
    emulator  a local Kitsu API for offline work and tests
    domain    shared facts: library statuses, default event strengths
    errors    the exceptions raised on purpose (one line for the user, exit status 2)
    urls      URLs in messages, their passwords masked
"""

from __future__ import annotations

from importlib import metadata as _metadata

from kitsu_ingest.domain import DEFAULT_FAVORITE_WEIGHT, DEFAULT_STATUS_WEIGHTS, LIBRARY_STATUSES

try:
    __version__ = _metadata.version("kitsu-recs")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_FAVORITE_WEIGHT",
    "DEFAULT_STATUS_WEIGHTS",
    "LIBRARY_STATUSES",
    "__version__",
]
