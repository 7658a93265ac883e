"""Event strengths: library statuses and favourites -> one confidence per (user, anime).

The default weights are the original notebook's (`kitsu_ingest.domain`): completed 6, favorite 5,
current 4, planned 3, on_hold 2, dropped 1. Events of one (user, anime) are summed, so a completed
favourite scores 11. A weight may be negative, down to -MAX_EVENT_WEIGHT: such an event counts
against the other events of its pair (a dropped favourite weighs less than a favourite). A pair
whose events sum to zero or less is no interaction: it is left out of the data as it is read, of
the matrices a search fits (`apply_confidence`) and of a user's row when serving, alike.

A weights file (TOML, what `recommend train --save-weights` writes and `--weights` reads) sets
some weights, flat or under a `[weights]` table; the others keep their defaults. Its keys are
Kitsu's library statuses and `favorite`; the statuses of other data (a file's --status-col) are
declared as such, under `[weights.extra]`. Any other key is refused (a typo such as `complted`
would otherwise name a status that never occurs, and leave `completed` at its default).
Confidence transforms (`linear`, `log`) and BM25 weighting act on the matrix.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitsu_ingest.domain import DEFAULT_FAVORITE_WEIGHT, DEFAULT_STATUS_WEIGHTS, LIBRARY_STATUSES
from recommender._toml import read_toml
from recommender.errors import ConfigFileError, DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix

    from recommender.data.interactions import Interactions

__all__ = [
    "CONFIDENCE_PARAMS",
    "DEFAULT_WEIGHTS",
    "FAVORITE",
    "MAX_EVENT_WEIGHT",
    "TRANSFORMS",
    "EventColumns",
    "EventWeights",
    "apply_confidence",
    "frame_columns",
    "from_events",
    "kind_strengths",
    "load_weights",
    "weights_toml",
]

FAVORITE = "favorite"
EXTRA = "extra"
"""The table of a weights file that declares statuses other than Kitsu's."""
DEFAULT_WEIGHTS: dict[str, float] = dict(DEFAULT_STATUS_WEIGHTS)
TRANSFORMS = ("linear", "log")
CONFIDENCE_PARAMS = ("transform", "bm25")
"""The parameters of `apply_confidence`: how strengths become the matrix a model is fitted on."""


@dataclass(frozen=True)
class EventWeights:
    """Weight of each library status and of a favourite."""

    statuses: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    favorite: float = DEFAULT_FAVORITE_WEIGHT

    def as_dict(self) -> dict[str, float]:
        return {**self.statuses, FAVORITE: self.favorite}

    @classmethod
    def from_dict(cls, weights: Mapping[str, float]) -> EventWeights:
        """The inverse of `as_dict` (a missing favourite weight is the default)."""
        statuses = {k: float(v) for k, v in weights.items() if k != FAVORITE}
        return cls(statuses, float(weights.get(FAVORITE, DEFAULT_FAVORITE_WEIGHT)))


@dataclass(frozen=True)
class EventColumns:
    """Events as aligned columns: the user, the item and the kind of each (`kinds[code]`: a
    status, or "favorite"), and its time (seconds since the epoch, NaN for none) when known."""

    users: np.ndarray
    items: np.ndarray
    codes: np.ndarray
    kinds: tuple[str, ...]
    times: np.ndarray | None = None


def kind_strengths(codes: np.ndarray, kinds: tuple[str, ...], weights: EventWeights) -> np.ndarray:
    """The weight of each event, whose kind is `kinds[code]` (a status, or "favorite"), as float32:
    the one place an event gets its weight (the store, files and serving all come here); DataError
    for a status the weights do not know, or a missing one (code -1)."""
    import numpy as np

    from recommender.data.ids import shown

    if (codes < 0).any():
        raise DataError(f"a missing status; known: {', '.join(weights.statuses)}")
    by_kind = weights.as_dict()
    present = np.flatnonzero(np.bincount(codes, minlength=len(kinds)))
    unknown = [kinds[code] for code in present if kinds[code] not in by_kind]
    if unknown:
        raise DataError(f"unknown status {', '.join(shown(u, 30) for u in unknown[:5])}; known: "
                        f"{', '.join(weights.statuses)} (add it to a --weights file)")
    return np.array([by_kind.get(kind, 0.0) for kind in kinds], np.float32)[codes]


def frame_columns(entries: pd.DataFrame, favorites: pd.DataFrame | None = None) -> EventColumns:
    """Library entries (columns user, item, status, optionally time) and favourites (user, item,
    optionally time) as event columns; rows without a user or an item are left out."""
    import numpy as np
    import pandas as pd

    frames = [entries.dropna(subset=["user", "item"])]
    if favorites is not None and len(favorites):
        frames.append(favorites.dropna(subset=["user", "item"]).assign(status=FAVORITE))
    events = pd.concat([f.reindex(columns=["user", "item", "status", *(["time"] if "time" in entries else [])])
                        for f in frames], ignore_index=True)
    from recommender.data.interactions import epoch_seconds

    codes, kinds = pd.factorize(events["status"].astype("object"))
    times = epoch_seconds(events["time"]) if "time" in events else None
    return EventColumns(events["user"].to_numpy(), events["item"].to_numpy(), codes.astype(np.int64),
                        tuple(str(k) for k in kinds), times)


def from_events(columns: EventColumns, weights: EventWeights, *, kinds: bool = False, min_user_items: int = 1,
                min_item_users: int = 1) -> Interactions:
    """Events weighted by their kind (`kind_strengths`) and summed per (user, item): the one way
    statuses and favourites become strengths, for the store and files alike. With `kinds`, each
    pair keeps its count of events of each weighted kind (`Interactions.reweighted`)."""
    import numpy as np

    from recommender.data.interactions import from_columns

    names: tuple[str, ...]
    by_kind = weights.as_dict()
    strengths = kind_strengths(columns.codes, columns.kinds, weights)
    counts, names = None, ()
    if kinds:
        names = tuple(by_kind)
        position = np.array([names.index(k) if k in names else -1 for k in columns.kinds], np.int64)[columns.codes]
        counts = np.zeros((len(position), len(names)), np.float32)
        counts[np.flatnonzero(position >= 0), position[position >= 0]] = 1.0
    return from_columns(columns.users, columns.items, strengths, times=columns.times, counts=counts, kinds=names,
                        min_user_items=min_user_items, min_item_users=min_item_users)


MAX_EVENT_WEIGHT = 1e6
"""The largest magnitude a weights file may give an event (the defaults are 1 to 6)."""
_KNOWN = (*LIBRARY_STATUSES, FAVORITE)


def _weight(key: str, value: Any, source: Path) -> float:
    from recommender.data.ids import shown

    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigFileError(f"{source}: weight {shown(key)} must be a number, not {shown(value)}")
    if abs(value) > MAX_EVENT_WEIGHT:
        raise ConfigFileError(f"{source}: weight {shown(key)} is {value:g}; weights are between "
                              f"{-MAX_EVENT_WEIGHT:g} and {MAX_EVENT_WEIGHT:g} (larger ones break the fit)")
    return float(value)


def _unknown(key: str, source: Path) -> ConfigFileError:
    import difflib

    from recommender.data.ids import shown

    close = difflib.get_close_matches(key, _KNOWN, n=1)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return ConfigFileError(f"{source}: unknown weight {shown(key)}{guess}; weights are {', '.join(_KNOWN)}, "
                           f"and statuses of other data under [weights.{EXTRA}]")


def load_weights(path: str | Path | None) -> EventWeights:
    """Weights from a TOML file (defaults for the keys it leaves out); None gives the defaults."""
    if path is None:
        return EventWeights()
    source = Path(path)
    document = read_toml(source, "weights")
    table = document.get("weights", document)
    if not isinstance(table, dict) or not table:
        raise ConfigFileError(f"the weights file {source} names no weights")
    extra = table.get(EXTRA, {})
    if not isinstance(extra, dict):
        raise ConfigFileError(f"{source}: [weights.{EXTRA}] must be a table of status = weight")
    for key in table:
        if key not in _KNOWN and key != EXTRA:
            raise _unknown(key, source)
    for key in extra:
        if key in _KNOWN:
            raise ConfigFileError(f"{source}: {key} is a Kitsu weight: set it under [weights], not [weights.{EXTRA}]")
    values = {key: _weight(key, value, source) for key, value in {**table, **extra}.items() if key != EXTRA}
    return EventWeights.from_dict({**DEFAULT_WEIGHTS, **values})


def weights_toml(weights: EventWeights) -> str:
    """`weights` as the TOML file `load_weights` reads back equal (values exact, other statuses
    under [weights.extra])."""
    def line(key: str, value: float) -> str:
        name = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
        return f"{name} = {float(value)!r}\n"

    weights_of = weights.as_dict()
    known = "".join(line(k, v) for k, v in weights_of.items() if k in _KNOWN)
    extra = "".join(line(k, v) for k, v in weights_of.items() if k not in _KNOWN)
    return f"[weights]\n{known}" + (f"\n[weights.{EXTRA}]\n{extra}" if extra else "")


def apply_confidence(
    matrix: csr_matrix, transform: str = "linear", bm25: bool = False, *, bm25_k1: float = 100.0,
    bm25_b: float = 0.8,
) -> csr_matrix:
    """The confidence matrix a model is fitted on: strengths transformed, then BM25-weighted.

    Pairs whose strength is zero or less are dropped first, as when the data is read (a stored
    zero would read as a preference, a negative strength as a dislike): a matrix reweighted with
    negative weights (`Interactions.reweighted`) is fitted as the same weights read from a file
    would be. `linear` keeps strengths as they are, `log` takes log(1 + strength). With `bm25`,
    entries are weighted as implicit's bm25_weight does on the item x user matrix (users with many
    interactions count less; items' lengths are normalised).
    """
    import numpy as np

    if transform not in TRANSFORMS:
        raise ConfigFileError(f"unknown confidence transform {transform!r}; use one of {TRANSFORMS}")
    out = matrix.astype(np.float32, copy=True)
    out.data[out.data < 0] = 0
    out.eliminate_zeros()
    if transform == "log":
        out.data = np.log1p(out.data)
    if bm25:
        from implicit.nearest_neighbours import bm25_weight

        out = bm25_weight(out.T, K1=bm25_k1, B=bm25_b).T.tocsr().astype(np.float32)
    return out
