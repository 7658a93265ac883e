"""Which library entries and favourites a query selects (pure: population + params -> rows).

A query scoped by `filter[userId]` reads only those users. A site-wide `filter[since]` at or after
NOW (a delta refresh) reads the population's delta index: slices for sort=updatedAt, -updatedAt, id
or none, a sort of the matching entries otherwise. Any other filtered query scans every user
(seconds per 10k users): it exists for fidelity, not for crawling. Both give the same pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from kitsu_ingest.emulator.delta import DeltaIndex
from kitsu_ingest.emulator.model import NOW, Library
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
    """A page of entries (columns, in page order) with each entry's owner, plus the query's totals."""

    entries: Library
    owners: list[User]
    count: int
    status_counts: dict[str, int]


@dataclass(frozen=True)
class _Filters:
    codes: list[int] | None
    anime: np.ndarray | None
    """Catalogue positions of the anime asked for."""
    since: float | None
    wants_anime: bool

    def mask(self, lib: Library) -> np.ndarray:
        """Visible entries of `lib` that pass every filter."""
        mask = ~lib.private if self.wants_anime else np.zeros(len(lib), dtype=bool)
        if self.codes is not None:
            mask &= np.isin(lib.status, self.codes)
        if self.anime is not None:
            mask &= np.isin(lib.anime, self.anime)
        if self.since is not None:
            mask &= lib.updated >= self.since
        return mask


def select_entries(pop: Population, params: Params, page: Page, use_index: bool = True) -> EntrySelection:
    """Apply filters, visibility (private entries are absent), sort and the page window.

    `use_index=False` forces the scan (the reference the delta index is tested against)."""
    f = params.filters
    codes = None
    if "status" in f:
        bad = [s for s in f["status"] if s not in _STATUS_CODES]
        if bad:
            raise _bad_value(bad[0], "status")
        codes = [_STATUS_CODES[s] for s in f["status"]]
    anime = None
    if "animeId" in f:
        anime = np.flatnonzero(np.isin(pop.catalogue.ids, _ints(f["animeId"], "animeId")))
    since = _since(f["since"]) if "since" in f else None
    filters = _Filters(codes, anime, since, "kind" not in f or "anime" in f["kind"])
    for key in params.sort:
        if key.lstrip("-") not in _SORTS:
            raise ApiProblem(400, "Invalid sort criteria",
                             f"{key.lstrip('-')} is not a valid sort criteria for libraryEntries", "114")
    window = slice(page.offset, page.offset + page.limit)
    if use_index and since is not None and since >= NOW and "userId" not in f:
        return _from_index(pop.delta(), since, filters, params.sort, window)
    return _scan(pop, params, filters, window)


def _status_meta(counts: np.ndarray) -> dict[str, int]:
    return {name: int(counts[_STATUS_META.index(name)]) for name in _META_ORDER
            if counts[_STATUS_META.index(name)]}


def _since(values: list[str]) -> float:
    text = ",".join(values)
    try:
        stamp = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise _bad_value(text, "since") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _order(sort: list[str], ids: np.ndarray, column: Callable[[str], np.ndarray]) -> np.ndarray:
    """The permutation `sort` asks for (NaN dates first when ascending), ties broken by id."""
    keys = [ids]
    for key in reversed(sort):
        col = np.nan_to_num(column(_SORTS[key.lstrip("-")]).astype(np.float64), nan=-np.inf)
        keys.append(-col if key.startswith("-") else col)
    return np.lexsort(keys)


# -- the scan -------------------------------------------------------------------------------------

def _scan(pop: Population, params: Params, filters: _Filters, window: slice) -> EntrySelection:
    parts: list[tuple[User, np.ndarray]] = []
    counts = np.zeros(5, dtype=np.int64)
    for user in _users(pop, params):
        rows = np.flatnonzero(filters.mask(user.library))
        if len(rows):
            parts.append((user, rows))
            counts += np.bincount(user.library.status[rows], minlength=5)
    chosen = _sorted_window(parts, params.sort, window) if params.sort else _window(parts, window)
    return EntrySelection(Library.concat([u.library.take(r) for u, r in chosen]),
                          [u for u, r in chosen for _ in range(len(r))], int(counts.sum()), _status_meta(counts))


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
    if not parts:
        return []
    owner = np.concatenate([np.full(len(r), i) for i, (_, r) in enumerate(parts)])
    rows = np.concatenate([r for _, r in parts])
    ids = np.concatenate([u.library.ids[r] for u, r in parts])
    order = _order(sort, ids, lambda name: np.concatenate([getattr(u.library, name)[r] for u, r in parts]))
    return [(parts[owner[i]][0], rows[i : i + 1]) for i in order[window]]


# -- the delta index ------------------------------------------------------------------------------

def _from_index(index: DeltaIndex, since: float, filters: _Filters, sort: list[str],
                window: slice) -> EntrySelection:
    """The same page as the scan, read from the index (every matching entry is in it)."""
    lib, n = index.entries, len(index)
    start = index.start(since) if filters.wants_anime else n
    tail = None  # which entries at or after `since` pass the status and anime filters (None: all)
    if filters.codes is not None or filters.anime is not None:
        tail = filters.mask(lib.take(slice(start, n)))
    counts = index.status_counts(start) if tail is None else np.bincount(lib.status[start:][tail], minlength=5)
    if sort == ["updatedAt"] and tail is None:
        positions = np.arange(min(start + window.start, n), min(start + window.stop, n))
    elif sort in (["updatedAt"], ["-updatedAt"], ["id"], []):
        if sort == ["updatedAt"]:
            chosen = np.arange(start, n)
        elif sort == ["-updatedAt"]:  # the entries at or after `since` come first
            chosen = index.by_newest[: n - start]
        else:
            chosen = index.by_id
        if tail is not None or (start > 0 and sort in ([], ["id"])):
            keep = np.zeros(n, dtype=bool)
            keep[start:] = True if tail is None else tail
            chosen = chosen[keep[chosen]]
        positions = chosen[window]
    else:
        positions = start + (np.arange(n - start) if tail is None else np.flatnonzero(tail))
        sub = lib.take(positions)
        positions = positions[_order(sort, sub.ids, lambda name: getattr(sub, name))][window]
    return EntrySelection(lib.take(positions), [index.users[int(u)] for u in index.owners[positions]],
                          int(counts.sum()), _status_meta(counts))


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
