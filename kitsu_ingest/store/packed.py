"""The store's packed reader: user counters, and every library entry and favourite as typed
columns, for segmentation (`kitsu_ingest.segment`) and the recommender (`recommender.data.store`).

Library entries are the bulk (about 220 per user on the emulated site). They are read in ranges
of the primary key (a table scan, not index lookups), each range aggregated by the database into
one comma-separated string of packed integers `user_id << 24 | anime_id << 3 | status code` and
parsed by numpy, so no Python object is made per row; two ranges are read at a time. The entries
are kept as compact COO chunks (row int32, anime id uint16/int32, code int8: 7 bytes an entry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Engine

from kitsu_ingest.domain import DEFAULT_STATUS_WEIGHTS, LIBRARY_STATUSES
from kitsu_ingest.errors import StoreError

__all__ = ["FAVORITE_CODE", "OTHER_CODE", "STATUS_CODES", "Events", "UserCounters", "load_events", "load_users"]

STATUS_CODES = {
    status: code
    for code, status in enumerate(sorted(LIBRARY_STATUSES, key=DEFAULT_STATUS_WEIGHTS.__getitem__, reverse=True))
}
"""Library statuses -> codes, by default weight descending (completed 0, current 1, planned 2, on_hold 3,
dropped 4); an unknown status gets code 5, a favourite code 7."""
OTHER_CODE, FAVORITE_CODE = 5, 7
_ANIME_BITS, _USER_SHIFT = 21, 24
_LUT_LIMIT = 64_000_000  # user ids below this are mapped to rows by a lookup table
_CASE = " ".join(f"WHEN '{s}' THEN {c}" for s, c in STATUS_CODES.items())


@dataclass(frozen=True)
class UserCounters:
    """Profile counters of every user in the store, by ascending id."""

    ids: np.ndarray
    life: np.ndarray
    ratings: np.ndarray
    favorites: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Events:
    """Library entries and anime favourites as COO chunks over (user row, anime id)."""

    n_users: int
    n_items: int
    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    codes: list[np.ndarray] = field(default_factory=list)
    dropped: int = 0
    """Entries whose user is not in the users table."""

    @property
    def nnz(self) -> int:
        return sum(len(r) for r in self.rows)

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        yield from zip(self.rows, self.cols, self.codes)

    def add(self, rows: np.ndarray, cols: np.ndarray, codes: np.ndarray) -> None:
        if len(rows):
            col_type = np.uint16 if self.n_items <= 1 << 16 else np.int32
            self.rows.append(rows.astype(np.int32))
            self.cols.append(cols.astype(col_type))
            self.codes.append(codes.astype(np.int8))


def _arrays(engine: Engine, sql: str) -> list[np.ndarray]:
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
    return [np.asarray(c) for c in zip(*rows)] if rows else []


def load_users(engine: Engine) -> UserCounters:
    """Every user's id, lifeSpentOnAnime, ratingsCount and favoritesCount."""
    columns = _arrays(engine, "SELECT id, life_spent_on_anime, ratings_count, favorites_count "
                              "FROM users ORDER BY id")
    if not columns:
        raise StoreError("the store has no users: crawl first (`kitsu-ingest crawl`)")
    ids, life, ratings, favorites = (c.astype(np.int64) for c in columns)
    return UserCounters(ids, life, ratings, favorites)


def _packed_sql(dialect: str, table: str) -> str:
    code = f"CASE status {_CASE} ELSE {OTHER_CODE} END" if table == "library_entries" else str(
        FAVORITE_CODE)
    value = f"((user_id << {_USER_SHIFT}) | (anime_id << 3) | {code})"
    agg = f"string_agg(({value})::text, ',')" if dialect == "postgresql" else f"group_concat({value})"
    return (f"SELECT {agg} FROM {table} WHERE id >= :lo AND id < :hi AND anime_id IS NOT NULL")


def _ranges(engine: Engine, table: str, chunks: int) -> tuple[list[tuple[int, int]], int, int]:
    # One min/max a statement: SQLite answers those from an index, several at once by a scan.
    with engine.connect() as conn:
        lo, hi, top_anime, top_user = (
            conn.execute(text(f"SELECT {agg} FROM {table}")).scalar()
            for agg in ("min(id)", "max(id)", "max(anime_id)", "max(user_id)")
        )
    if lo is None or hi is None:
        return [], 0, 0
    step = max(1, -(-(int(hi) - int(lo) + 1) // chunks))
    bounds = [*range(int(lo), int(hi) + 1, step), int(hi) + 1]
    return list(pairwise(bounds)), int(top_anime or 0), int(top_user or 0)


def _read_range(engine: Engine, sql: str, lo: int, hi: int) -> np.ndarray:
    with engine.connect() as conn:
        blob = conn.execute(text(sql), {"lo": lo, "hi": hi}).scalar()
    if not blob:
        return np.empty(0, dtype=np.int64)
    return np.fromstring(blob, dtype=np.int64, sep=",")


class _RowMap:
    """User id -> row (ascending ids), by lookup table when ids are small, else by bisection."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        self.lut: np.ndarray | None = None
        if len(ids) and ids[-1] < _LUT_LIMIT:
            self.lut = np.full(int(ids[-1]) + 1, -1, dtype=np.int32)
            self.lut[ids] = np.arange(len(ids), dtype=np.int32)

    def __call__(self, uid: np.ndarray) -> np.ndarray:
        if self.lut is not None:
            inside = uid < len(self.lut)
            return np.where(inside, self.lut[np.where(inside, uid, 0)], -1)
        pos = np.minimum(np.searchsorted(self.ids, uid), len(self.ids) - 1)
        return np.where(self.ids[pos] == uid, pos, -1).astype(np.int32)


def load_events(
    engine: Engine,
    users: UserCounters,
    *,
    chunks: int = 256,
    workers: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> Events:
    """Every library entry (with an anime) and anime favourite of the users in `users`."""
    dialect = engine.dialect.name
    plan: list[tuple[str, int, int]] = []
    top_anime = 0
    for table in ("library_entries", "favorites"):
        ranges, anime, top_user = _ranges(engine, table, chunks)
        if anime >= 1 << _ANIME_BITS or top_user >= 1 << (63 - _USER_SHIFT):
            raise StoreError(f"{table} holds ids too large to pack (anime {anime}, user {top_user})")
        top_anime = max(top_anime, anime)
        plan += [(_packed_sql(dialect, table), lo, hi) for lo, hi in ranges]
    events = Events(n_users=len(users), n_items=top_anime + 1)
    to_row = _RowMap(users.ids)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(lambda p: _read_range(engine, *p), plan)
        for done, packed in enumerate(results, 1):
            rows = to_row(packed >> _USER_SHIFT)
            known = rows >= 0
            events.dropped += int(len(rows) - known.sum())
            if not known.all():
                packed, rows = packed[known], rows[known]
            events.add(rows, (packed >> 3) & ((1 << _ANIME_BITS) - 1), packed & 7)
            if on_progress:
                on_progress(done, len(plan))
    return events
