"""Typed, lazily loaded exports: lazy_loader reads this stub at import time, mypy and editors too."""

from .engine import describe_url, make_engine, parse_database_url
from .migrate import (
    current_revision,
    downgrade,
    head_revision,
    is_known_revision,
    open_store,
    require_current_schema,
    upgrade,
)
from .models import (
    Anime,
    CrawlError,
    CrawlRun,
    CrawlUser,
    Favorite,
    LibraryEntry,
    SegmentRun,
    User,
    UserSegment,
    metadata,
    table,
)
from .stats import store_stats
from .upsert import upsert

__all__ = [
    "Anime",
    "CrawlError",
    "CrawlRun",
    "CrawlUser",
    "Favorite",
    "LibraryEntry",
    "SegmentRun",
    "User",
    "UserSegment",
    "current_revision",
    "describe_url",
    "downgrade",
    "head_revision",
    "is_known_revision",
    "make_engine",
    "metadata",
    "open_store",
    "parse_database_url",
    "require_current_schema",
    "store_stats",
    "table",
    "upgrade",
    "upsert",
]
