"""The SQL store: tables, engine, migrations and bulk upserts."""

from kitsu_ingest.store.engine import describe_url, make_engine, parse_database_url
from kitsu_ingest.store.models import (
    Anime,
    CrawlError,
    CrawlRun,
    CrawlUser,
    Favorite,
    LibraryEntry,
    User,
    metadata,
)
from kitsu_ingest.store.upsert import upsert

__all__ = [
    "Anime",
    "CrawlError",
    "CrawlRun",
    "CrawlUser",
    "Favorite",
    "LibraryEntry",
    "User",
    "describe_url",
    "make_engine",
    "metadata",
    "parse_database_url",
    "upsert",
]
