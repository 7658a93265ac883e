from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kitsu_ingest.store import Anime, LibraryEntry, upsert

NOW = datetime(2024, 5, 1, 12, 30, 15, 250000)


def entry(i: int, progress: int = 1) -> dict[str, Any]:
    return {
        "id": 1000 + i,
        "user_id": 7,
        "anime_id": i if i % 5 else None,
        "status": "completed",
        "progress": progress,
        "reconsuming": i % 2 == 0,
        "reconsume_count": 0,
        "rating_twenty": None,
        "started_at": NOW + timedelta(days=i),
        "finished_at": None,
        "progressed_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
        "fetched_at": NOW,
    }


def rows(engine: Engine, table: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]


def test_upsert_inserts_then_updates_without_duplicates(store: Engine) -> None:
    table = LibraryEntry.__table__
    assert upsert(store, table, (entry(i) for i in range(25)), batch_size=7) == 25
    first = rows(store, table)
    assert len(first) == 25
    # The same rows again change nothing; newer values for half of them update those rows only.
    upsert(store, table, (entry(i) for i in range(25)), batch_size=4)
    assert rows(store, table) == first
    upsert(store, table, (entry(i, progress=9) for i in range(10, 40)), batch_size=8)
    after = rows(store, table)
    assert len(after) == 40
    progress = {r[0]: r[4] for r in after}
    assert [progress[1000 + i] for i in (0, 9, 10, 39)] == [1, 1, 9, 9]


def test_values_round_trip_with_types(store: Engine) -> None:
    table = LibraryEntry.__table__
    upsert(store, table, [entry(3), entry(5)])
    with store.connect() as conn:
        got = conn.execute(select(table).where(table.c.id == 1003)).mappings().one()
        nsfw = conn.execute(select(table.c.anime_id).where(table.c.id == 1005)).scalar_one()
    assert got["started_at"] == NOW + timedelta(days=3)
    assert got["reconsuming"] is False and got["anime_id"] == 3
    assert nsfw is None


def test_aware_times_are_stored_as_utc(store: Engine) -> None:
    table = LibraryEntry.__table__
    row = entry(1) | {"updated_at": datetime(2024, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))}
    upsert(store, table, [row])
    with store.connect() as conn:
        assert conn.execute(select(table.c.updated_at)).scalar_one() == datetime(2024, 1, 1, 12, 0)


def test_repeated_key_in_one_batch_keeps_the_last(store: Engine) -> None:
    table = Anime.__table__
    base = {"canonical_title": "A", "nsfw": False, "categories": ["Action"], "fetched_at": NOW}
    upsert(store, table, [base | {"id": 1}, base | {"id": 1, "canonical_title": "B"}])
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 1
        title, categories = conn.execute(select(table.c.canonical_title, table.c.categories)).one()
    assert (title, categories) == ("B", ["Action"])
