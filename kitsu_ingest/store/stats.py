"""What the store holds, counted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kitsu_ingest.store.models import Anime, CrawlRun, Favorite, LibraryEntry, User

__all__ = ["STATUSES", "store_stats"]

STATUSES = ("current", "planned", "completed", "on_hold", "dropped")


def _count_by(conn: Any, column: Any) -> dict[str, int]:
    rows = conn.execute(select(column, func.count()).group_by(column)).all()
    return {str(key): int(n) for key, n in rows}


def store_stats(engine: Engine) -> dict[str, Any]:
    """Counts of users, anime, library entries (in all and by status), favourites and crawl runs."""
    with engine.connect() as conn:

        def count(table: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        by_status = _count_by(conn, LibraryEntry.__table__.c.status)
        runs = _count_by(conn, CrawlRun.__table__.c.status)
        return {
            "users": count(User.__table__),
            "anime": count(Anime.__table__),
            "library_entries": count(LibraryEntry.__table__),
            "library_entries_by_status": {s: by_status.pop(s, 0) for s in STATUSES} | by_status,
            "favorites": count(Favorite.__table__),
            "crawl_runs": sum(runs.values()),
            "crawl_runs_by_status": runs,
        }
