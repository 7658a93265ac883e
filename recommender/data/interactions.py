"""Interactions: a users x items CSR matrix of strengths with its id maps.

Ids are mapped through pandas categoricals: row `u` is user `user_ids[u]`, column `i` is item
`item_ids[i]` (for the store, item ids are Kitsu anime ids). `times` (seconds since the epoch,
aligned with the CSR entries) is kept when the data has a time, for temporal splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recommender.data.events import KIND
from recommender.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix

__all__ = ["Interactions", "from_frame"]


@dataclass(frozen=True)
class Interactions:
    """A users x items matrix of summed event strengths and the ids of its rows and columns."""

    matrix: csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    times: np.ndarray | None = None
    kinds: tuple[str, ...] = ()
    """With `event_counts`: the event kinds (statuses, favorite) whose weights made `matrix`."""
    event_counts: np.ndarray | None = None
    """nnz x len(kinds): how many events of each kind each stored pair has (aligned with data)."""

    def reweighted(self, weights: Mapping[str, float]) -> csr_matrix:
        """The matrix with the same pairs and strengths recomputed from other weights (a weight
        may be zero or negative: such pairs stay, with that strength)."""
        import numpy as np

        if self.event_counts is None:
            raise DataError("these interactions have no event kinds to weigh (statuses or favourites)")
        vector = np.array([float(weights.get(kind, 0.0)) for kind in self.kinds], np.float32)
        out = self.matrix.copy()
        out.data = (self.event_counts @ vector).astype(np.float32)
        return out

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    def fingerprint(self) -> str:
        """A short hash of the matrix and its ids: equal data, equal fingerprint."""
        digest = hashlib.sha256()
        for array in (self.user_ids, self.item_ids):
            digest.update("\x1f".join(map(str, array.tolist())).encode())
        m = self.matrix
        for array in (m.indptr, m.indices, m.data):
            digest.update(array.astype("<i8" if array is not m.data else "<f4").tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> str:
        users, items = self.shape
        return f"{users:,} users x {items:,} items, {self.nnz:,} interactions"


def _filter_activity(frame: pd.DataFrame, min_user_items: int, min_item_users: int) -> pd.DataFrame:
    """Drop items with fewer than `min_item_users` users and users with fewer than
    `min_user_items` items, repeated until both hold (each drop can break the other)."""
    for _ in range(20):
        before = len(frame)
        if min_item_users > 1:
            counts = frame.groupby("item", observed=True)["user"].transform("size")
            frame = frame[counts >= min_item_users]
        if min_user_items > 1:
            counts = frame.groupby("user", observed=True)["item"].transform("size")
            frame = frame[counts >= min_user_items]
        if len(frame) == before:
            break
    return frame


def from_frame(
    frame: pd.DataFrame, *, min_user_items: int = 1, min_item_users: int = 1
) -> Interactions:
    """Interactions from columns user, item, strength (and optionally time).

    Duplicate (user, item) rows are summed (the latest time kept); non-positive strengths and
    missing ids are dropped.
    """
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix

    frame = frame.dropna(subset=["user", "item", "strength"])
    frame = frame[frame["strength"] > 0]
    kind_columns = [c for c in frame.columns if str(c).startswith(KIND)]
    if frame.duplicated(["user", "item"]).any():
        aggregations = {"strength": "sum", **({"time": "max"} if "time" in frame else {}),
                        **dict.fromkeys(kind_columns, "sum")}
        frame = frame.groupby(["user", "item"], sort=False).agg(aggregations).reset_index()
    frame = _filter_activity(frame, min_user_items, min_item_users)
    if frame.empty:
        raise DataError("no interactions left to train on (check the data and the --min-* filters)")
    users = pd.Categorical(frame["user"])
    items = pd.Categorical(frame["item"])
    rows = users.codes.astype(np.int64)
    cols = items.codes.astype(np.int64)
    order = np.lexsort((cols, rows))
    shape = (len(users.categories), len(items.categories))
    matrix = csr_matrix(
        (frame["strength"].to_numpy(np.float32)[order], (rows[order], cols[order])), shape=shape
    )
    matrix.sort_indices()
    times = None
    if "time" in frame:
        stamps = pd.to_datetime(frame["time"], errors="coerce", utc=True)
        epoch = pd.Timestamp(0, tz="UTC").as_unit(stamps.dt.unit)  # a date past 2262 overflows nanoseconds
        seconds = (stamps - epoch).dt.total_seconds()
        times = seconds.fillna(0.0).to_numpy(np.float64)[order]
    counts = frame[kind_columns].to_numpy(np.float32)[order] if kind_columns else None
    return Interactions(matrix, np.asarray(users.categories), np.asarray(items.categories), times,
                        tuple(c.removeprefix(KIND) for c in kind_columns), counts)
