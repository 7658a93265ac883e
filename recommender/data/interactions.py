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

from recommender.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix

__all__ = ["Interactions", "epoch_seconds", "from_columns", "from_frame"]


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


def _keep_active(rows: np.ndarray, cols: np.ndarray, min_user_items: int, min_item_users: int) -> np.ndarray:
    """A mask of the pairs left once items with fewer than `min_item_users` users and users with
    fewer than `min_user_items` items are dropped, repeatedly until both hold (each drop can
    break the other)."""
    import numpy as np

    keep = np.ones(len(rows), dtype=bool)
    for _ in range(20):
        before = int(keep.sum())
        if min_item_users > 1:
            keep &= (np.bincount(cols[keep], minlength=int(cols.max(initial=-1)) + 1) >= min_item_users)[cols]
        if min_user_items > 1:
            keep &= (np.bincount(rows[keep], minlength=int(rows.max(initial=-1)) + 1) >= min_user_items)[rows]
        if int(keep.sum()) == before:
            break
    return keep


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 in the order of the sorted distinct values, and those values."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int32 if len(uniques) < 2**31 else np.int64, copy=False), np.asarray(uniques)


def from_columns(
    users: np.ndarray,
    items: np.ndarray,
    strengths: np.ndarray,
    *,
    times: np.ndarray | None = None,
    counts: np.ndarray | None = None,
    kinds: tuple[str, ...] = (),
    min_user_items: int = 1,
    min_item_users: int = 1,
) -> Interactions:
    """Interactions from aligned event columns: the user and item of each event, its strength,
    optionally its time (seconds since the epoch, NaN for none) and its count of each of `kinds`
    (rows x len(kinds)).

    Events of one (user, item) are summed (counts summed, the latest time kept); pairs whose
    strength is not positive are dropped, then the activity filters apply. Rows and columns are
    the remaining ids in ascending order. Vectorised (no Python object per event): one sort of
    the events by (user, item) and a reduction over each run of equal pairs.
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    user_codes, user_ids = _codes(users)
    item_codes, item_ids = _codes(items)
    key = user_codes.astype(np.int64) * max(len(item_ids), 1) + item_codes
    del user_codes, item_codes
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if len(key) else np.zeros(0, np.int64)
    key = key[starts]
    summed = np.add.reduceat(np.asarray(strengths)[order], starts) if len(starts) else np.zeros(0)  # in their dtype
    latest = None
    if times is not None:
        stamps = np.asarray(times, np.float64)[order]
        latest = np.maximum.reduceat(np.where(np.isnan(stamps), -np.inf, stamps), starts) if len(starts) \
            else np.zeros(0)
        latest[np.isneginf(latest)] = 0.0
    per_kind = np.add.reduceat(np.asarray(counts, np.float32)[order], starts, axis=0) \
        if counts is not None and len(starts) else None
    del order
    rows, cols = np.divmod(key, max(len(item_ids), 1))
    keep = summed > 0
    keep[keep] = _keep_active(rows[keep], cols[keep], min_user_items, min_item_users)
    if not keep.any():
        raise DataError("no interactions left to train on (check the data and the --min-* filters)")
    rows, cols = rows[keep], cols[keep]
    used_rows = np.bincount(rows, minlength=len(user_ids)) > 0
    used_cols = np.bincount(cols, minlength=len(item_ids)) > 0
    rows = (np.cumsum(used_rows) - 1)[rows]
    cols = (np.cumsum(used_cols) - 1)[cols]
    shape = (int(used_rows.sum()), int(used_cols.sum()))
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=shape[0]))))
    matrix = csr_matrix((summed[keep].astype(np.float32), cols.astype(np.int32), indptr), shape=shape)
    return Interactions(matrix, user_ids[used_rows], item_ids[used_cols],
                        None if latest is None else latest[keep], kinds,
                        None if per_kind is None else per_kind[keep])


def epoch_seconds(column: pd.Series) -> np.ndarray:
    """Times (dates or datetimes, any zone; naive ones taken as UTC) as seconds since the epoch,
    NaN where there is none."""
    import numpy as np
    import pandas as pd

    stamps = pd.to_datetime(column, errors="coerce", utc=True)
    epoch = pd.Timestamp(0, tz="UTC").as_unit(stamps.dt.unit)  # a date past 2262 overflows nanoseconds
    return (stamps - epoch).dt.total_seconds().to_numpy(np.float64)


def from_frame(
    frame: pd.DataFrame, *, min_user_items: int = 1, min_item_users: int = 1
) -> Interactions:
    """Interactions from columns user, item, strength (and optionally time).

    Duplicate (user, item) rows are summed (the latest time kept); non-positive strengths and
    missing ids are dropped.
    """
    import numpy as np

    frame = frame.dropna(subset=["user", "item", "strength"])
    frame = frame[frame["strength"] > 0]
    return from_columns(
        frame["user"].to_numpy(), frame["item"].to_numpy(), frame["strength"].to_numpy(np.float64),
        times=epoch_seconds(frame["time"]) if "time" in frame else None,
        min_user_items=min_user_items, min_item_users=min_item_users)
