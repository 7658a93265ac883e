"""Event strengths: library statuses and favourites -> one confidence per (user, anime).

The default weights are the original notebook's (`kitsu_ingest.domain`): completed 6, favorite 5,
current 4, planned 3, on_hold 2, dropped 1. Events of one (user, anime) are summed, so a completed
favourite scores 11.
A weights file (TOML) may change them, flat or under a `[weights]` table; any other key names an
extra status. Confidence transforms (`linear`, `log`) and BM25 weighting act on the matrix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitsu_ingest.domain import DEFAULT_FAVORITE_WEIGHT, DEFAULT_STATUS_WEIGHTS
from recommender._toml import read_toml
from recommender.errors import ConfigFileError, DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix

__all__ = [
    "CONFIDENCE_PARAMS",
    "DEFAULT_WEIGHTS",
    "FAVORITE",
    "KIND",
    "MAX_EVENT_WEIGHT",
    "TRANSFORMS",
    "EventWeights",
    "apply_confidence",
    "event_strengths",
    "load_weights",
]

FAVORITE = "favorite"
DEFAULT_WEIGHTS: dict[str, float] = dict(DEFAULT_STATUS_WEIGHTS)
TRANSFORMS = ("linear", "log")
KIND = "kind:"
"""Prefix of the per-kind event count columns (`event_strengths(..., kinds=True)`)."""
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

    def status_weights(self, statuses: pd.Series) -> np.ndarray:
        """The weight of each status in `statuses`; an unknown status raises DataError."""
        import numpy as np

        mapped = statuses.map(dict(self.statuses))
        unknown = statuses[mapped.isna() & statuses.notna()].unique()
        if len(unknown) or statuses.isna().any():
            from recommender.data.ids import shown

            names = ", ".join(shown(s, 30) for s in list(unknown)[:5]) or "a missing status"
            raise DataError(
                f"unknown status {names}; known: {', '.join(self.statuses)} "
                "(add it to a --weights file)"
            )
        return mapped.to_numpy(dtype=np.float32)


MAX_EVENT_WEIGHT = 1e6
"""The largest weight a weights file may give an event (the defaults are 1 to 6)."""


def _weight(key: str, value: Any, source: Path) -> float:
    from recommender.data.ids import shown

    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigFileError(f"{source}: weight {shown(key)} must be a number, not {shown(value)}")
    if value < 0:
        raise ConfigFileError(f"{source}: weight {shown(key)} must not be negative ({value:g})")
    if value > MAX_EVENT_WEIGHT:
        raise ConfigFileError(f"{source}: weight {shown(key)} is {value:g}; weights are at most "
                              f"{MAX_EVENT_WEIGHT:g} (larger ones break the fit)")
    return float(value)


def load_weights(path: str | Path | None) -> EventWeights:
    """Weights from a TOML file (defaults for the keys it leaves out); None gives the defaults."""
    if path is None:
        return EventWeights()
    source = Path(path)
    document = read_toml(source, "weights")
    table = document.get("weights", document)
    if not isinstance(table, dict) or not table:
        raise ConfigFileError(f"the weights file {source} names no weights")
    values = {key: _weight(key, value, source) for key, value in table.items()}
    return EventWeights.from_dict({**DEFAULT_WEIGHTS, **values})


def event_strengths(
    entries: pd.DataFrame,
    favorites: pd.DataFrame | None = None,
    weights: EventWeights | None = None,
    *,
    kinds: bool = False,
) -> pd.DataFrame:
    """Sum event weights per (user, item).

    `entries` has columns user, item, status and optionally time; `favorites` has user, item
    (and optionally time). Returns columns user, item, strength (and time, the latest event's,
    when the entries have one). Zero-strength pairs are dropped. With `kinds`, a column
    `kind:<status>` (and `kind:favorite`) counts each pair's events of that kind, so that other
    weights can be applied later without changing which pairs there are (`Interactions.reweighted`).
    """
    import pandas as pd

    weights = weights or EventWeights()
    frames = [entries.assign(strength=weights.status_weights(entries["status"]),
                             kind=entries["status"].astype(str))]
    if favorites is not None and len(favorites):
        frames.append(favorites.assign(strength=float(weights.favorite), kind=FAVORITE))
    columns = ["user", "item", "strength"] + (["time"] if "time" in entries else [])
    events = pd.concat([f.reindex(columns=[*columns, "kind"]) for f in frames], ignore_index=True)
    aggregations: dict[str, str] = {"strength": "sum"}
    if "time" in columns:
        aggregations["time"] = "max"
    if kinds:
        for kind in weights.as_dict():
            events[f"{KIND}{kind}"] = (events["kind"] == kind).astype("float32")
            aggregations[f"{KIND}{kind}"] = "sum"
    events = events.drop(columns="kind")
    summed = events.groupby(["user", "item"], sort=False, observed=True).agg(aggregations)
    summed = summed.reset_index()
    return summed[summed["strength"] > 0].reset_index(drop=True)


def apply_confidence(
    matrix: csr_matrix, transform: str = "linear", bm25: bool = False, *, bm25_k1: float = 100.0,
    bm25_b: float = 0.8,
) -> csr_matrix:
    """The confidence matrix ALS is fitted on: strengths transformed, then BM25-weighted.

    `linear` keeps strengths as they are, `log` takes log(1 + strength) (of the magnitude, keeping
    the sign: a negative strength, which implicit's ALS reads as a negative preference, stays
    negative). Zero strengths are dropped (a stored zero would read as a preference). With `bm25`, entries
    are weighted as implicit's bm25_weight does on the item x user matrix (users with many
    interactions count less; items' lengths are normalised).
    """
    import numpy as np

    if transform not in TRANSFORMS:
        raise ConfigFileError(f"unknown confidence transform {transform!r}; use one of {TRANSFORMS}")
    out = matrix.astype(np.float32, copy=True)
    if transform == "log":
        out.data = np.sign(out.data) * np.log1p(np.abs(out.data))
    out.eliminate_zeros()
    if bm25:
        from implicit.nearest_neighbours import bm25_weight

        out = bm25_weight(out.T, K1=bm25_k1, B=bm25_b).T.tocsr().astype(np.float32)
    return out
