"""Stores filled from the emulator's population, for the segmentation tests."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from kitsu_ingest.emulator import STATUSES, Population
from kitsu_ingest.store import Anime, Favorite, LibraryEntry, User, upsert

NOW = datetime(2021, 11, 30)
_COUNTERS = ("followers_count", "following_count", "comments_count", "likes_given_count",
             "likes_received_count", "posts_count", "reviews_count", "media_reactions_count")


def user_row(uid: int, life: int = 0, ratings: int = 0, favorites: int = 0) -> dict[str, Any]:
    counters = dict.fromkeys(_COUNTERS, 0)
    return {"id": uid, **counters, "life_spent_on_anime": life, "ratings_count": ratings,
            "favorites_count": favorites, "fetched_at": NOW}


def entry_row(entry_id: int, uid: int, anime_id: int | None, status: str) -> dict[str, Any]:
    return {"id": entry_id, "user_id": uid, "anime_id": anime_id, "status": status, "progress": 0,
            "reconsuming": False, "reconsume_count": 0, "fetched_at": NOW}


def fill_from_population(engine: Engine, users: int, seed: int = 7) -> Population:
    """Users (with their counters), libraries, anime favourites and the catalogue's anime."""
    population = Population(users, seed)
    cat = population.catalogue
    user_rows, entries, favorites, seen = [], [], [], set()
    for uid in population.user_ids.tolist():
        u = population.user(uid)
        c = u.counters
        user_rows.append(user_row(uid, c["lifeSpentOnAnime"], c["ratingsCount"], c["favoritesCount"]))
        lib = u.library
        for eid, a, s in zip(lib.ids.tolist(), lib.anime.tolist(), lib.status.tolist()):
            entries.append(entry_row(eid, uid, int(cat.ids[a]), STATUSES[s]))
            seen.add(a)
        favorites += [{"id": f.id, "user_id": uid, "anime_id": f.item_id, "fav_rank": f.rank,
                       "fetched_at": NOW} for f in u.favorites if f.item_type == "Anime"]
    anime = [{"id": int(cat.ids[a]), "canonical_title": cat.titles[a], "nsfw": bool(cat.nsfw[a]),
              "categories": [str(x) for x in cat.categories[a]], "fetched_at": NOW} for a in sorted(seen)]
    upsert(engine, User.__table__, user_rows)  # type: ignore[attr-defined]
    upsert(engine, LibraryEntry.__table__, entries)  # type: ignore[attr-defined]
    upsert(engine, Favorite.__table__, favorites)  # type: ignore[attr-defined]
    upsert(engine, Anime.__table__, anime)  # type: ignore[attr-defined]
    return population


@pytest.fixture
def small_store(store: Engine) -> Engine:
    """A store with 150 emulated users (about 30,000 entries), on each backend."""
    fill_from_population(store, 150)
    return store


@pytest.fixture
def rows() -> SimpleNamespace:
    """The row builders and the filler, for tests (conftest cannot be imported under importlib)."""
    return SimpleNamespace(NOW=NOW, user=user_row, entry=entry_row, fill=fill_from_population)
