"""Which library entries and favourites a query selects (pure: population + params -> rows).

A query scoped by `filter[userId]` reads only those users. Any other filtered query scans every user
(seconds per 10k users): it exists for fidelity, not for crawling.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from kitsu_ingest.emulator.population import Favorite, Population, User
from kitsu_ingest.emulator.query import ApiProblem, Page, Params

__all__ = ["ENTRY_FILTERS", "FAVORITE_FILTERS", "EntrySelection", "select_entries", "select_favorites"]

ENTRY_FILTERS = ("userId", "animeId", "kind", "status", "since")
FAVORITE_FILTERS = ("userId", "itemType", "itemId")
_STATUS_CODES = {"completed": 0, "planned": 1, "current": 2, "on_hold": 3, "onHold": 3, "dropped": 4}
_STATUS_META = ("completed", "planned", "current", "onHold", "dropped")
_META_ORDER = ("current", "planned", "completed", "onHold", "dropped")
_SORTS = {"id": "ids", "createdAt": "created", "updatedAt": "updated", "progress": "progress",
          "progressedAt": "progressed", "startedAt": "started", "finishedAt": "finished",
          "ratingTwenty": "rating", "rating": "rating", "status": "status"}
_ITEM_TYPES = {"Anime": ("Anime",), "Manga": ("Manga",), "Character": ("Character",),
               "Person": ("Person",), "Media": ("Anime", "Manga")}


def _bad_value(value: str, name: str) -> ApiProblem:
    return ApiProblem(400, "Invalid filter value", f"{value} is not a valid value for {name}.", "103")


def _ints(values: list[str], name: str) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise _bad_value(",".join(values), name) from None


def _users(pop: Population, params: Params) -> Iterator[User]:
    if "userId" in params.filters:
        for uid in sorted(set(_ints(params.filters["userId"], "userId"))):
            user = pop.get(uid)
            if user is not None:
                yield user
    else:
        for uid in pop.user_ids.tolist():
            yield pop.user(uid)


@dataclass
class EntrySelection:
    """The page of entries a query selects: (user, rows) groups in page order, plus the totals."""

    groups: list[tuple[User, np.ndarray]]
    count: int
    status_counts: dict[str, int]


def select_entries(pop: Population, params: Params, page: Page) -> EntrySelection:
    """Apply filters, visibility (private entries are absent), sort and the page window."""
    f = params.filters
    codes = None
    if "status" in f:
        bad = [s for s in f["status"] if s not in _STATUS_CODES]
        if bad:
            raise _bad_value(bad[0], "status")
        codes = [_STATUS_CODES[s] for s in f["status"]]
    anime_ids = np.array(_ints(f["animeId"], "animeId"), dtype=np.int64) if "animeId" in f else None
    since = _since(f["since"]) if "since" in f else None
    wants_anime = "kind" not in f or "anime" in f["kind"]
    cat_ids = pop.catalogue.ids
    parts: list[tuple[User, np.ndarray]] = []
    counts = np.zeros(5, dtype=np.int64)
    for user in _users(pop, params):
        lib = user.library
        mask = ~lib.private if wants_anime else np.zeros(len(lib), dtype=bool)
        if codes is not None:
            mask &= np.isin(lib.status, codes)
        if anime_ids is not None:
            mask &= np.isin(cat_ids[lib.anime], anime_ids)
        if since is not None:
            mask &= lib.updated >= since
        rows = np.flatnonzero(mask)
        if len(rows):
            parts.append((user, rows))
            counts += np.bincount(lib.status[rows], minlength=5)
    total = int(counts.sum())
    meta = {name: int(counts[_STATUS_META.index(name)]) for name in _META_ORDER
            if counts[_STATUS_META.index(name)]}
    window = slice(page.offset, page.offset + page.limit)
    groups = _sorted_window(parts, params.sort, window) if params.sort else _window(parts, window)
    return EntrySelection(groups, total, meta)


def _since(values: list[str]) -> float:
    text = ",".join(values)
    try:
        stamp = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise _bad_value(text, "since") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _window(parts: list[tuple[User, np.ndarray]], window: slice) -> list[tuple[User, np.ndarray]]:
    out, start = [], 0
    for user, rows in parts:
        lo, hi = max(window.start - start, 0), min(window.stop - start, len(rows))
        if lo < hi:
            out.append((user, rows[lo:hi]))
        start += len(rows)
        if start >= window.stop:
            break
    return out


def _sorted_window(parts: list[tuple[User, np.ndarray]], sort: list[str], window: slice
                   ) -> list[tuple[User, np.ndarray]]:
    for key in sort:
        if key.lstrip("-") not in _SORTS:
            raise ApiProblem(400, "Invalid sort criteria",
                             f"{key.lstrip('-')} is not a valid sort criteria for libraryEntries", "114")
    if not parts:
        return []
    owner = np.concatenate([np.full(len(r), i) for i, (_, r) in enumerate(parts)])
    rows = np.concatenate([r for _, r in parts])
    keys = [np.concatenate([u.library.ids[r] for u, r in parts])]  # tie-break by id
    for key in reversed(sort):
        col = np.concatenate([getattr(u.library, _SORTS[key.lstrip("-")])[r] for u, r in parts])
        col = np.nan_to_num(col.astype(np.float64), nan=-np.inf)
        keys.append(-col if key.startswith("-") else col)
    order = np.lexsort(keys)[window]
    return [(parts[owner[i]][0], rows[i : i + 1]) for i in order]


def select_favorites(pop: Population, params: Params) -> list[tuple[User, Favorite]]:
    """All favourites a query selects, in id order."""
    f = params.filters
    types: set[str] | None = None
    if "itemType" in f:
        bad = [t for t in f["itemType"] if t not in _ITEM_TYPES]
        if bad:
            raise _bad_value(bad[0], "itemType")
        types = {t for name in f["itemType"] for t in _ITEM_TYPES[name]}
    item_ids = set(_ints(f["itemId"], "itemId")) if "itemId" in f else None
    out = []
    for user in _users(pop, params):
        for fav in user.favorites:
            if (types is None or fav.item_type in types) and (item_ids is None or fav.item_id in item_ids):
                out.append((user, fav))
    return out

