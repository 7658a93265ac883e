"""`store_stats`: what the store holds, counted (statuses in one pass, Kitsu's first)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kitsu_ingest.domain import LIBRARY_STATUSES
from kitsu_ingest.store.models import LibraryEntry, User, table
from kitsu_ingest.store.stats import store_stats


def test_entries_by_status_match_a_group_by_and_name_new_statuses(store: Engine) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    statuses = ["completed"] * 5 + ["planned"] * 3 + ["dropped", "rewatching", "rewatching"]
    with Session(store) as session:
        session.add(User(id=1, fetched_at=now))
        session.add_all(LibraryEntry(id=i, user_id=1, anime_id=i, status=s, fetched_at=now)
                        for i, s in enumerate(statuses, 1))
        session.commit()
    stats = store_stats(store)
    status = table(LibraryEntry).c.status
    with store.connect() as conn:
        grouped = dict(conn.execute(select(status, func.count()).group_by(status)).all())
    assert stats["library_entries"] == len(statuses) and stats["users"] == 1
    assert stats["library_entries_by_status"] == {s: grouped.get(s, 0) for s in LIBRARY_STATUSES} | {"rewatching": 2}
    assert list(stats["library_entries_by_status"])[:len(LIBRARY_STATUSES)] == list(LIBRARY_STATUSES)


def test_an_empty_store_counts_zero_of_every_status(store: Engine) -> None:
    stats = store_stats(store)
    assert stats["library_entries"] == 0
    assert stats["library_entries_by_status"] == dict.fromkeys(LIBRARY_STATUSES, 0)
