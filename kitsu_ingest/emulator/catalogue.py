"""The emulated anime catalogue: real Kitsu ids and figures for the head, a synthetic long tail.

The head (about 5,100 anime) comes from `data/calibration.json.gz` (see `bench/calibrate_emulator.py`):
real Kitsu ids, titles where known, subtypes, library and favourite counts. The tail fills the catalogue
to 20,000 anime with unused ids below 48,000, log-normal popularity below the head's and a few NSFW titles.
The catalogue does not depend on the population seed, so `/anime/{id}` is the same for every emulator.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib.resources import files
from typing import Any

import numpy as np

__all__ = ["CATEGORIES", "N_TASTES", "Catalogue", "load_calibration"]

N_TASTES = 24
"""Number of latent taste groups; each anime belongs to one, shown as its first category."""

# One Kitsu-style category per taste group (id, title); ids of the first seven are Kitsu's own.
CATEGORIES: tuple[tuple[int, str], ...] = (
    (150, "Action"), (160, "Comedy"), (184, "Drama"), (155, "Science Fiction"), (157, "Adventure"),
    (201, "Detective"), (51, "Space"), (3, "Romance"), (4, "Fantasy"), (5, "Slice of Life"),
    (6, "Sports"), (7, "Horror"), (8, "Mecha"), (9, "Music"), (10, "Psychological"),
    (11, "Supernatural"), (12, "Historical"), (13, "School Life"), (14, "Magic"), (15, "Martial Arts"),
    (16, "Military"), (17, "Thriller"), (18, "Parody"), (19, "Idol"),
)
_SYLLABLES = ("ka", "mi", "to", "ra", "shi", "no", "ha", "ru", "yo", "ki", "se", "tsu", "na", "ri",
              "ko", "a", "yu", "me", "sa", "ta", "hi", "o", "ne", "ga")
_WORDS = ("Sora", "Hoshi", "Kage", "Yume", "Tsuki", "Kaze", "Hana", "Umi", "Hikari", "Tenshi",
          "Ryuu", "Mirai", "Kokoro", "Sekai", "Kiseki", "Yoru")
_EPISODES = {"TV": (12, 13, 24, 25, 26, 50), "movie": (1,), "OVA": (1, 2, 3, 4, 6), "ONA": (1, 6, 10, 12),
             "special": (1, 1, 2, 3), "music": (1,)}
_LENGTH = {"TV": 24, "movie": 105, "OVA": 28, "ONA": 15, "special": 12, "music": 4}
_AGE = ("G", "PG", "PG", "PG", "R")


@cache
def load_calibration() -> dict[str, Any]:
    """The calibrated summary shipped with the package (see `bench/calibrate_emulator.py`)."""
    blob = files("kitsu_ingest.emulator").joinpath("data/calibration.json.gz").read_bytes()
    return json.loads(gzip.decompress(blob))


def _title(rng: np.random.Generator) -> str:
    word = "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4)))).capitalize()
    return f"{word} no {rng.choice(_WORDS)}" if rng.random() < 0.6 else f"{word} {rng.choice(_WORDS)}"


@dataclass(eq=False)
class Catalogue:
    """Column arrays over anime indices 0..n-1, sorted by Kitsu id."""

    ids: np.ndarray
    titles: list[str]
    subtypes: list[str]
    user_count: np.ndarray
    favorites_count: np.ndarray
    taste: np.ndarray
    nsfw: np.ndarray
    episode_count: np.ndarray
    episode_length: np.ndarray
    start_day: np.ndarray
    categories: list[tuple[int, ...]]
    index: dict[int, int] = field(default_factory=dict)

    @classmethod
    @cache
    def default(cls) -> Catalogue:
        """The shared catalogue (built once per process, about 0.1 s)."""
        return cls.build()

    @classmethod
    def build(cls, size: int | None = None) -> Catalogue:
        cal = load_calibration()
        size = size or cal["catalogue_size"]
        rng = np.random.default_rng(20211130)
        head = cal["head"]
        head_ids = np.array([r[0] for r in head], dtype=np.int64)
        free = np.setdiff1d(np.arange(1, cal["max_anime_id"] + 1), head_ids)
        tail_ids = np.sort(rng.choice(free, size=max(size - len(head), 0), replace=False))
        n_tail = len(tail_ids)
        tail_users = np.maximum(1, rng.lognormal(np.log(60), 1.6, n_tail)).astype(np.int64)
        tail_users = np.minimum(tail_users, int(np.quantile([r[2] for r in head], 0.5)))
        tail_favs = (tail_users * rng.beta(0.6, 120, n_tail)).astype(np.int64)
        tail_sub = rng.choice(["TV", "special", "movie", "ONA", "OVA", "music"], size=n_tail,
                              p=[0.28, 0.26, 0.19, 0.14, 0.12, 0.01])
        rows = [(r[0], r[4], r[1], r[2], r[3], False) for r in head]
        rows += [(int(i), None, str(s), int(u), int(f), bool(rng.random() < 0.05))
                 for i, s, u, f in zip(tail_ids, tail_sub, tail_users, tail_favs)]
        rows.sort(key=lambda r: r[0])
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        n = len(ids)
        subtypes = [r[2] for r in rows]
        episodes = np.array([int(rng.choice(_EPISODES[s])) for s in subtypes], dtype=np.int32)
        taste = (ids * 2654435761 % 4294967296 % N_TASTES).astype(np.int16)  # stable per id
        cats = []
        for t in taste:
            extra = rng.choice(N_TASTES, size=int(rng.integers(0, 3)), replace=False)
            cats.append(tuple(dict.fromkeys([CATEGORIES[t][0], *(CATEGORIES[e][0] for e in extra)])))
        return cls(
            ids=ids,
            titles=[r[1] or _title(rng) for r in rows],
            subtypes=subtypes,
            user_count=np.array([r[3] for r in rows], dtype=np.int64),
            favorites_count=np.array([r[4] for r in rows], dtype=np.int64),
            taste=taste,
            nsfw=np.array([r[5] for r in rows], dtype=bool),
            episode_count=episodes,
            episode_length=np.array([_LENGTH[s] for s in subtypes], dtype=np.int32),
            start_day=rng.integers(9000, 18900, n).astype(np.int32),  # days since 1970
            categories=cats,
            index={int(i): k for k, i in enumerate(ids)},
        )

    def __len__(self) -> int:
        return len(self.ids)

    def find(self, anime_id: int | str) -> int | None:
        """Index of a Kitsu anime id, or None."""
        try:
            return self.index.get(int(anime_id))
        except (TypeError, ValueError):
            return None

    @cached_property
    def popularity_rank(self) -> np.ndarray:
        """1-based rank by library count (1 = most users)."""
        return _rank(self.user_count)

    @cached_property
    def rating_rank(self) -> np.ndarray:
        return _rank(self.average_rating)

    @cached_property
    def average_rating(self) -> np.ndarray:
        """A stable pseudo average rating on Kitsu's 0-100 scale."""
        h = (self.ids * 40503 % 1000) / 1000
        return np.round(55 + 30 * h, 2)


def _rank(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(1, len(values) + 1)
    return rank
