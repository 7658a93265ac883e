"""Ids from outside: parsing a Kitsu id from text, showing any text a user gave in a message, and
the positions of ids (Kitsu ids, or a file's user and item keys) in a model's id arrays.

A Kitsu id is ASCII digits only (not "²" or Arabic-Indic digits, which `str.isdigit` accepts) and
fits the store's BIGINT: 1 <= id < 2**63. Anything else is refused before `int()` sees it (a
5,000-digit string would raise ValueError there, and a 20-digit id OverflowError in the driver).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kitsu_ingest.domain import MAX_ID

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["FLAGS", "MAX_ID", "IdIndex", "align_labels", "id_array", "parse_flag", "parse_id", "parse_key", "shown"]

FLAGS = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False, "off": False}
"""The words a yes/no from outside (an option, a query parameter, a grid file) may be, any case."""


def parse_flag(text: str) -> bool | None:
    """The yes or no `text` says (`FLAGS`), None if it says neither."""
    return FLAGS.get(text.strip().lower())


def parse_id(text: str) -> int | None:
    """The id `text` spells in ASCII digits, if 1 <= id <= MAX_ID; else None."""
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit()) or not digits or len(digits) > len(str(MAX_ID)):
        return None
    value = int(digits)
    return value if value <= MAX_ID else None


def parse_key(value: int | str, numeric: bool) -> int | str | None:
    """A file's user or item key: for integer keys, an int64 (`value` an int, or ASCII digits with
    an optional minus sign); else the text itself (None if empty). None when it cannot be one."""
    if not numeric:
        text = str(value)
        return text if text else None
    if isinstance(value, int):
        return value if -MAX_ID - 1 <= value <= MAX_ID else None
    digits = value.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits.lstrip("0")) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if -MAX_ID - 1 <= number <= MAX_ID else None


def shown(text: object, limit: int = 40) -> str:
    """`text` fit for a one-line message: its repr (escapes for control characters, surrogates
    and line breaks), cut to about `limit` characters."""
    quoted = repr(str(text)) if not isinstance(text, bytes) else repr(text)
    return quoted if len(quoted) <= limit else f"{quoted[:limit - 4]}...{quoted[-1]}"


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

    def position(self, wanted: int | str) -> int:
        return int(self.positions([wanted])[0])


def align_labels(row_ids: np.ndarray, labelled_ids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels for the matrix's rows (`row_ids`, user ids) from (user id, label) pairs; -1 if none."""
    row_ids = np.asarray(row_ids)
    out = np.full(len(row_ids), -1, dtype=np.int32)
    if len(labelled_ids) == 0:
        return out
    order = np.argsort(labelled_ids, kind="stable")
    ids, labs = np.asarray(labelled_ids)[order], np.asarray(labels)[order]
    pos = np.minimum(np.searchsorted(ids, row_ids), len(ids) - 1)
    found = ids[pos] == row_ids
    out[found] = labs[pos[found]]
    return out
