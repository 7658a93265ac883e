"""Positions of ids (Kitsu ids, or a file's user and item keys) in a model's id arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["IdIndex", "id_array"]


def id_array(values: Any) -> NDArray[Any]:
    """Ids as saved and served: int64 when every id is an integer, else strings."""
    array = np.asarray(values)
    return array.astype(np.int64) if array.dtype.kind in "iu" else array.astype(str)


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
