"""Where a served model finds a user's items, the items' names, title search and popularity.

    catalogue_for(saved, store)   the store for a model trained on the store; the model's own
                                  training history (`TrainingHistory`) for a model trained on a
                                  file, whatever store there is: a file's user 9 is not Kitsu's
                                  user 9, and a file's item 1 is not Kitsu's anime 1

Both answer the same four questions (`Catalogue`); `StoreReader` is the store's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from recommender.data.ids import IdIndex
from recommender.data.store import AnimeInfo, UserEvents
from recommender.errors import RecommenderError

if TYPE_CHECKING:
    from recommender.data.history import TrainingHistory
    from recommender.data.store import StoreReader
    from recommender.registry import SavedModel

__all__ = ["Catalogue", "HistoryCatalogue", "catalogue_for"]


class Catalogue(Protocol):
    """What serving reads besides the model."""

    def user_events(self, user_id: Any) -> UserEvents: ...

    def anime(self, ids: Iterable[Any]) -> dict[Any, AnimeInfo]: ...

    def search(self, title: str, limit: int = 50) -> list[AnimeInfo]: ...

    def popular(self, limit: int) -> list[tuple[Any, int]]: ...


class HistoryCatalogue:
    """A file model's catalogue: its training rows and the names from its items file."""

    def __init__(self, history: TrainingHistory, user_ids: np.ndarray, item_ids: np.ndarray) -> None:
        self.history = history
        self.users = IdIndex(user_ids)
        self.items = IdIndex(item_ids)
        self.item_ids = item_ids
        self._ids = [_plain(i) for i in item_ids.tolist()]
        at = {str(key): column for column, key in enumerate(self._ids)}
        self.names = [(at[key], name) for key, name in history.titles.items() if key in at]

    @functools.cached_property
    def counts(self) -> np.ndarray:
        """Training users per item (for popularity and title search only: a transpose of the whole
        history, not paid by a model that is only asked for users)."""
        return np.diff(self.history.matrix.tocsc().indptr)

    def user_events(self, user_id: Any) -> UserEvents:
        """The user's training items with their strengths (no statuses: a file has none)."""
        row = self.users.position(user_id)
        if row < 0:
            return UserEvents(user_id, False, (), ())
        start, stop = self.history.matrix.indptr[row], self.history.matrix.indptr[row + 1]
        columns = self.history.matrix.indices[start:stop]
        return UserEvents(user_id, True, tuple((self._ids[c], "") for c in columns.tolist()), (),
                          tuple(float(v) for v in self.history.matrix.data[start:stop]))

    def anime(self, ids: Iterable[Any]) -> dict[Any, AnimeInfo]:
        """Every given item the model has, with its name (None without an items file)."""
        wanted = list(ids)
        positions = self.items.positions(wanted) if wanted else np.zeros(0, np.int64)
        titles = self.history.titles
        return {self._ids[p]: AnimeInfo(id=self._ids[p], title=titles.get(str(self._ids[p])), subtype=None)
                for p in positions.tolist() if p >= 0}

    def search(self, title: str, limit: int = 50) -> list[AnimeInfo]:
        """Items whose name contains `title` (any case): exact names first, then prefixes, then
        the rest, each by how many training users have them."""
        needle = title.strip().casefold()
        found = []
        for column, name in self.names:
            folded = name.casefold()
            if needle and needle in folded:
                order = 0 if folded == needle else 1 if folded.startswith(needle) else 2
                info = AnimeInfo(id=self._ids[column], title=name, subtype=None)
                found.append(((order, -int(self.counts[column]), column), info))
        found.sort(key=lambda pair: pair[0])
        return [info for _, info in found[:limit]]

    def popular(self, limit: int) -> list[tuple[Any, int]]:
        """(item, training users with it) for the most common items."""
        order = np.lexsort((np.arange(len(self.counts)), -self.counts))[:limit]
        return [(self._ids[c], int(self.counts[c])) for c in order.tolist() if self.counts[c] > 0]


def catalogue_for(saved: SavedModel, store: StoreReader | None) -> Catalogue:
    """The catalogue `saved` answers from (see the module docstring); RecommenderError when it
    has none (a store's model with no store; a file model saved before models carried their
    training history)."""
    if saved.from_file:
        if saved.history is None:
            raise RecommenderError(f"model {saved.version} was trained on a file before models carried their "
                                   "training history, so it cannot tell what each user already has: retrain it "
                                   "with `recommend train --interactions ...`")
        return HistoryCatalogue(saved.history, saved.user_ids, saved.item_ids)
    if store is None:
        raise RecommenderError(f"model {saved.version} was trained on the Kitsu store and there is no store to "
                               "read users and titles from: give --database-url (or DATABASE_URL)")
    return store


def _plain(value: Any) -> Any:
    """An id as Python shows and JSON writes it (int, or str)."""
    return int(value) if isinstance(value, int | np.integer) else str(value)
