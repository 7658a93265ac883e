"""Top-N selection over factor scores, numpy only (no implicit, scipy or pandas: fast to import).

One user: a matrix-vector product and an `argpartition`. Many users (`TopN.batch`): scores for a
block of users at once, then a two-stage selection that never partitions the whole score row.
Items are cut into blocks of `block` columns; the top N items of a row all lie in the N blocks with
the largest maxima (an item outside them is beaten by N block maxima, so by N other items), so only
those N blocks are partitioned. Excluded items score -inf and are never returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["Exclusions", "IdIndex", "TopN", "top_n"]


class IdIndex:
    """Position of ids in an id array (ints or strings), by binary search."""

    def __init__(self, ids: NDArray[Any]) -> None:
        self.ids = ids
        self.numeric = ids.dtype.kind in "iu"
        self.sorter = np.argsort(ids, kind="stable")
        self.sorted = ids[self.sorter]

    def positions(self, wanted: Any) -> NDArray[np.int64]:
        """Positions of `wanted` (-1 where absent)."""
        keys = np.asarray(wanted, dtype=np.int64 if self.numeric else str)
        if not len(self.sorted) or not keys.size:
            return np.full(keys.shape, -1, np.int64)
        at = np.clip(np.searchsorted(self.sorted, keys), 0, len(self.sorted) - 1)
        return np.where(self.sorted[at] == keys, self.sorter[at], -1).astype(np.int64)

    def position(self, wanted: int) -> int:
        return int(self.positions([wanted])[0])


@dataclass(frozen=True)
class Exclusions:
    """Excluded item columns per user, CSR-style: indices[indptr[u]:indptr[u + 1]] for row u."""

    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]

    @classmethod
    def from_pairs(cls, rows: NDArray[np.int64], cols: NDArray[np.int64],
                   n_rows: int) -> Exclusions:
        """From (row, column) pairs in any order (duplicates are harmless)."""
        order = np.argsort(rows, kind="stable")
        counts = np.bincount(rows, minlength=n_rows)
        indptr = np.zeros(n_rows + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr, np.asarray(cols, np.int64)[order])

    @classmethod
    def empty(cls, n_rows: int) -> Exclusions:
        return cls(np.zeros(n_rows + 1, np.int64), np.zeros(0, np.int64))


def top_n(scores: NDArray[np.float32], n: int, exclude: Sequence[int] | NDArray[np.int64] = (),
          ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The columns of the `n` best scores of one row, best first, skipping `exclude`."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    if len(exclude):
        scores[np.asarray(exclude, np.int64)] = -np.inf
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    part = np.argpartition(scores, len(scores) - n)[len(scores) - n:]
    best = part[np.argsort(-scores[part], kind="stable")]
    keep = np.isfinite(scores[best])
    return best[keep].astype(np.int64), scores[best][keep]


class TopN:
    """Top-N items for batches of users from factor matrices (users x f, items x f)."""

    def __init__(self, item_factors: NDArray[np.floating], block: int = 128) -> None:
        items, factors = item_factors.shape
        self.n_items = items
        self.block = block
        self.n_blocks = max(1, -(-items // block))
        padded = np.zeros((factors, self.n_blocks * block), np.float32)
        padded[:, :items] = np.asarray(item_factors, np.float32).T
        self._items_t = padded

    def batch(self, user_vectors: NDArray[np.floating], n: int,
              exclude: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None) -> tuple[
            NDArray[np.int64], NDArray[np.float32]]:
        """(columns, scores), each users x n, best first; -1 / -inf where fewer items remain.

        `exclude` is (indptr, indices) for these rows (indptr[0] need not be 0).
        """
        users = np.asarray(user_vectors, np.float32)
        m = len(users)
        scores = users @ self._items_t
        scores[:, self.n_items:] = -np.inf
        if exclude is not None:
            indptr, indices = exclude
            counts = np.diff(indptr)
            cols = indices[indptr[0]:indptr[-1]]
            scores[np.repeat(np.arange(m), counts), cols] = -np.inf
        n = min(n, self.n_items)
        if self.n_blocks <= n:  # too few blocks to prune: partition whole rows
            part = np.argpartition(scores, scores.shape[1] - n, axis=1)[:, -n:]
            return self._ordered(part, np.take_along_axis(scores, part, 1))
        blocks = scores.reshape(m, self.n_blocks, self.block)
        chosen = np.argpartition(blocks.max(axis=2), self.n_blocks - n, axis=1)[:, -n:]
        candidates = blocks[np.arange(m)[:, None], chosen].reshape(m, n * self.block)
        part = np.argpartition(candidates, n * self.block - n, axis=1)[:, -n:]
        values = np.take_along_axis(candidates, part, 1)
        columns = np.take_along_axis(chosen, part // self.block, 1) * self.block + part % self.block
        return self._ordered(columns, values)

    @staticmethod
    def _ordered(columns: NDArray[np.int64], values: NDArray[np.float32]) -> tuple[
            NDArray[np.int64], NDArray[np.float32]]:
        order = np.argsort(-values, axis=1, kind="stable")
        columns = np.take_along_axis(columns, order, 1).astype(np.int64)
        values = np.take_along_axis(values, order, 1)
        columns[~np.isfinite(values)] = -1
        return columns, values
