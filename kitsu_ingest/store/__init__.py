"""The SQL store: tables, engine, migrations (`alembic/`, shipped as `migrations/`), bulk upserts and counts.

Names load on first use: opening an engine (`kitsu_ingest.store.engine`) must not pay for the
SQLModel tables and alembic, which the read-only recommender never needs.
"""

from kitsu_ingest.lazy import lazy_exports
from kitsu_ingest.store.upsert import upsert as upsert  # eager: the function shares its module's name

_EXPORTS = {
    "describe_url": "engine", "make_engine": "engine", "parse_database_url": "engine",
    "current_revision": "migrate", "downgrade": "migrate", "head_revision": "migrate",
    "is_known_revision": "migrate", "open_store": "migrate",
    "require_current_schema": "migrate", "upgrade": "migrate",
    "Anime": "models", "CrawlError": "models", "CrawlRun": "models", "CrawlUser": "models", "Favorite": "models",
    "LibraryEntry": "models", "SegmentRun": "models", "User": "models", "UserSegment": "models",
    "metadata": "models", "table": "models",
    "store_stats": "stats",
}

_lazy, __getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted([*_lazy, "upsert"])
