"""The emulator's records (users, libraries as columns, favourites), its id scheme, clock and hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

__all__ = [
    "DAY", "EMPTY_LIBRARY", "ENTRY_STRIDE", "FAVORITE_STRIDE", "FAVORITE_TYPES", "HEAVY_USER", "NOW", "STATUSES",
    "Favorite", "Library", "User", "day_start", "mix",
]

STATUSES = ("completed", "planned", "current", "on_hold", "dropped")
"""Status names; a library's `status` column holds their positions (0 = completed ... 4 = dropped)."""
FAVORITE_TYPES = ("Anime", "Manga", "Character", "Person")
ENTRY_STRIDE = 5000
"""Library entry ids are `user_id * ENTRY_STRIDE + k` (k = 1..4999 in creation order, never reused)."""
FAVORITE_STRIDE = 100
"""Favourite ids are `user_id * FAVORITE_STRIDE + k`."""
HEAVY_USER = 70211
NOW = datetime(2021, 11, 30, tzinfo=UTC).timestamp()
"""The end of day 0: every date of the day-0 world is before it."""
DAY = 86400.0


def day_start(k: int) -> float:
    """The first instant of day `k` >= 1 (day k covers [NOW + (k-1) * DAY, NOW + k * DAY))."""
    return NOW + (k - 1) * DAY


def mix(x: np.ndarray | int, seed: int) -> np.ndarray:
    """A vectorised 64-bit hash (splitmix64) of ids under a seed."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + np.uint64(seed % 2**32) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@dataclass(frozen=True, eq=False)
class Library:
    """Anime entries (private ones too) as columns, in id order. NaN dates are null."""

    ids: np.ndarray
    anime: np.ndarray
    status: np.ndarray
    progress: np.ndarray
    rating: np.ndarray
    created: np.ndarray
    updated: np.ndarray
    started: np.ndarray
    finished: np.ndarray
    progressed: np.ndarray
    private: np.ndarray
    reconsume_count: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: np.ndarray | slice) -> Library:
        """These rows (indices, a mask or a slice), in the order given."""
        return Library(*(column[rows] for column in self.columns()))

    def columns(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, name) for name in self.__dataclass_fields__)

    @staticmethod
    def concat(parts: list[Library]) -> Library:
        if not parts:
            return EMPTY_LIBRARY
        return Library(*(np.concatenate(cols) for cols in zip(*(p.columns() for p in parts))))


EMPTY_LIBRARY = Library(*(np.empty(0, dtype=t) for t in (
    np.int64, np.int32, np.int8, np.int32, np.int8, *[np.float64] * 5, bool, np.int16)))


@dataclass(frozen=True)
class Favorite:
    id: int
    item_type: str
    item_id: int
    rank: int
    created: float


@dataclass(frozen=True, eq=False)
class User:
    """One user's profile, library and favourites."""

    id: int
    name: str
    slug: str | None
    created: float
    updated: float
    taste: np.ndarray
    nsfw_ok: bool
    library: Library
    favorites: tuple[Favorite, ...]
    counters: dict[str, int]
    profile: dict[str, str | None]

    @property
    def taste_group(self) -> int:
        return int(np.argmax(self.taste))

    @property
    def visible(self) -> np.ndarray:
        """Mask of the entries anonymous callers see (not private)."""
        return ~self.library.private
