"""What the store holds, counted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, FromClause, func, select
from sqlalchemy.engine import Connection, Engine

from kitsu_ingest.domain import LIBRARY_STATUSES
from kitsu_ingest.store.models import Anime, CrawlRun, Favorite, LibraryEntry, User, table

__all__ = ["store_stats"]


def _count(conn: Connection, rows: FromClause) -> int:
    return int(conn.execute(select(func.count()).select_from(rows)).scalar_one())


def _count_by(conn: Connection, column: Column[Any]) -> dict[str, int]:
    rows = conn.execute(select(column, func.count()).group_by(column)).all()
    return {str(key): int(n) for key, n in rows}


def store_stats(engine: Engine) -> dict[str, Any]:
    """Counts of users, anime, library entries (in all and by status, Kitsu's statuses first in
    Kitsu's order), favourites and crawl runs."""
    entries, runs_table = table(LibraryEntry), table(CrawlRun)
    with engine.connect() as conn:
        by_status = _count_by(conn, entries.c.status)
        runs = _count_by(conn, runs_table.c.status)
        return {
            "users": _count(conn, table(User)),
            "anime": _count(conn, table(Anime)),
            "library_entries": _count(conn, entries),
            "library_entries_by_status": {s: by_status.pop(s, 0) for s in LIBRARY_STATUSES} | by_status,
            "favorites": _count(conn, table(Favorite)),
            "crawl_runs": sum(runs.values()),
            "crawl_runs_by_status": runs,
        }
