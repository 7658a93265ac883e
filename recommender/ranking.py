"""Top-N selection: the one kernel that evaluation, serving, batch and every model rank with.

    top_n(scores, n)            each row's n best columns, best first (ties: the lower column)
    top_n_row(row, n, exclude)  one user's n best columns, excluded and -inf ones left out
    Exclusions                  columns never to return, per row (CSR-style), and how to mask them
    TopN(item_factors).batch    many users of a factor model at once, pruned by blocks

Numpy only (no implicit, scipy or pandas): `recommend user` imports it from a cold shell.

`TopN.batch` scores a block of users at once, then selects in two stages without partitioning
the whole score row: items are cut into blocks of `block` columns; the top N items of a row all
lie in the N blocks with the largest maxima (an item outside them is beaten by N block maxima, so
by N other items), so only those N blocks are partitioned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["Exclusions", "TopN", "top_n", "top_n_row"]


def _ordered(columns: NDArray[np.int64], values: NDArray[np.float32]) -> tuple[
        NDArray[np.int64], NDArray[np.float32]]:
    """Each row's (columns, values) sorted best first, ties by the lower column."""
    order = np.lexsort((columns, -values), axis=1)
    return np.take_along_axis(columns, order, 1).astype(np.int64), np.take_along_axis(values, order, 1)


def top_n(scores: NDArray[Any], n: int) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Columns and scores of each row's `n` highest scores, best first (ties: lower column first).

    Excluded items (-inf) are ranked last, not removed: callers that show results drop them.
    """
    n = min(n, scores.shape[1])
    if n <= 0:
        return np.empty((scores.shape[0], 0), np.int64), np.empty((scores.shape[0], 0), scores.dtype)
    part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    return _ordered(part, np.take_along_axis(scores, part, axis=1))


def top_n_row(scores: NDArray[Any], n: int, exclude: Sequence[int] | NDArray[np.int64] = ()) -> tuple[
        NDArray[np.int64], NDArray[np.float32]]:
    """The columns of the `n` best scores of one row, best first, without `exclude` or -inf."""
    row = np.array(scores, dtype=np.float32, copy=True)
    if len(exclude):
        row[np.asarray(exclude, np.int64)] = -np.inf
    columns, values = top_n(row[None, :], n)
    keep = np.isfinite(values[0])
    return columns[0][keep], values[0][keep]


@dataclass(frozen=True)
class Exclusions:
    """Excluded item columns per user, CSR-style: indices[indptr[u]:indptr[u + 1]] for row u."""

    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]

    @classmethod
    def from_pairs(cls, rows: NDArray[np.int64], cols: NDArray[np.int64], n_rows: int) -> Exclusions:
        """From (row, column) pairs in any order (duplicates are harmless)."""
        order = np.argsort(rows, kind="stable")
        indptr = np.zeros(n_rows + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        return cls(indptr, np.asarray(cols, np.int64)[order])

    @classmethod
    def from_matrix(cls, matrix: Any) -> Exclusions:
        """Every stored entry of a CSR matrix (e.g. what each user trained on)."""
        return cls(np.asarray(matrix.indptr, np.int64), np.asarray(matrix.indices, np.int64))

    @classmethod
    def empty(cls, n_rows: int) -> Exclusions:
        return cls(np.zeros(n_rows + 1, np.int64), np.zeros(0, np.int64))

    def rows(self, start: int, stop: int) -> Exclusions:
        """The exclusions of rows start..stop-1 (as rows 0..)."""
        indptr = self.indptr[start:stop + 1]
        return Exclusions(indptr - indptr[0], self.indices[indptr[0]:indptr[-1]])

    def mask(self, scores: NDArray[Any], first_row: int = 0) -> None:
        """Set the excluded columns of rows first_row.. (one per row of `scores`) to -inf."""
        stop = first_row + len(scores)
        start_at, stop_at = self.indptr[first_row], self.indptr[stop]
        counts = np.diff(self.indptr[first_row:stop + 1])
        scores[np.repeat(np.arange(len(scores)), counts), self.indices[start_at:stop_at]] = -np.inf


class TopN:
    """Top-N items for batches of users from factor matrices (users x f, items x f)."""

    def __init__(self, item_factors: NDArray[np.floating[Any]], block: int = 128) -> None:
        items, factors = item_factors.shape
        self.n_items = items
        self.block = block
        self.n_blocks = max(1, -(-items // block))
        padded = np.zeros((factors, self.n_blocks * block), np.float32)
        padded[:, :items] = np.asarray(item_factors, np.float32).T
        self._items_t = padded

    def batch(self, user_vectors: NDArray[np.floating[Any]], n: int, exclusions: Exclusions | None = None) -> tuple[
            NDArray[np.int64], NDArray[np.float32]]:
        """(columns, scores), each users x n, best first; -1 / -inf where fewer items remain.

        `exclusions` has a row for each of these users.
        """
        users = np.asarray(user_vectors, np.float32)
        m = len(users)
        scores = users @ self._items_t
        scores[:, self.n_items:] = -np.inf
        if exclusions is not None:
            exclusions.mask(scores)
        n = min(n, self.n_items)
        if self.n_blocks <= n:  # too few blocks to prune: partition whole rows
            columns, values = top_n(scores, n)
        else:
            blocks = scores.reshape(m, self.n_blocks, self.block)
            chosen = np.argpartition(blocks.max(axis=2), self.n_blocks - n, axis=1)[:, -n:]
            candidates = blocks[np.arange(m)[:, None], chosen].reshape(m, n * self.block)
            part = np.argpartition(candidates, n * self.block - n, axis=1)[:, -n:]
            values = np.take_along_axis(candidates, part, 1)
            columns = np.take_along_axis(chosen, part // self.block, 1) * self.block + part % self.block
            columns, values = _ordered(columns, values)
        columns[~np.isfinite(values)] = -1
        return columns, values
