"""KMeans over the behavioural features: a k sweep with its quality measures, labels, profiles.

Each k is fitted (KMeans, k-means++, 3 inits, seeded) on a seeded sample of at most `fit_sample`
users, then every user is given its nearest centre. Inertia and Davies-Bouldin are computed on all
users, the silhouette on one seeded sample shared by every k (it is quadratic in its size).
k is chosen by the best silhouette (ties: the smaller k).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass

import numpy as np

from kitsu_ingest.segment.errors import ConfigError, SegmentError

__all__ = ["SweepRow", "assign", "choose_k", "explain", "parse_k", "sweep"]

_ASSIGN_ROWS = 65_536
_WORKING_MB = 64


@dataclass(frozen=True)
class SweepRow:
    k: int
    inertia: float
    silhouette: float
    davies_bouldin: float
    seconds: float

    def as_dict(self) -> dict[str, float]:
        return {key: (None if isinstance(v, float) and math.isnan(v) else v)  # type: ignore[misc]
                for key, v in asdict(self).items()}


def parse_k(text: str) -> tuple[int, ...]:
    """`2..12` (a range), `5` (one k) or `3,5,8` (a list) -> the k values, ascending."""
    text = text.strip()
    try:
        if m := re.fullmatch(r"(\d+)\s*\.\.\s*(\d+)", text):
            lo, hi = int(m[1]), int(m[2])
            ks = tuple(range(lo, hi + 1))
        else:
            ks = tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        ks = ()
    if not ks or min(ks) < 2:
        raise ConfigError(f"--k {text!r}: give k >= 2 as `5`, a range `2..12` or a list `3,5,8`")
    return ks


def assign(x: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, float]:
    """Nearest centre of every row (chunked), and the inertia (sum of squared distances)."""
    labels = np.empty(len(x), dtype=np.int32)
    c = centers.astype(np.float32)
    c_sq = (c.astype(np.float64) ** 2).sum(axis=1)
    inertia = 0.0
    for start in range(0, len(x), _ASSIGN_ROWS):
        part = x[start:start + _ASSIGN_ROWS]
        d = c_sq[None, :] - 2.0 * (part @ c.T)
        best = d.argmin(axis=1)
        labels[start:start + len(part)] = best
        x_sq = (part.astype(np.float64) ** 2).sum(axis=1)
        inertia += float(np.maximum(d[np.arange(len(part)), best] + x_sq, 0.0).sum())
    return labels, inertia


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def sweep(
    x: np.ndarray, ks: tuple[int, ...], *, seed: int = 0, fit_sample: int = 100_000,
    silhouette_sample: int = 5000,
) -> tuple[list[SweepRow], dict[int, np.ndarray]]:
    """Fit every k; returns the table and each k's centres."""
    from sklearn import config_context
    from sklearn.cluster import KMeans
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    if max(ks) > len(x):
        raise SegmentError(f"k={max(ks)} is more than the {len(x):,} users with a library to cluster")
    fit_rows = x[_sample(len(x), fit_sample, seed)]
    sil_rows = _sample(len(x), silhouette_sample, seed + 1)
    table, centres = [], {}
    for k in ks:
        started = time.perf_counter()
        model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(fit_rows)
        labels, inertia = assign(x, model.cluster_centers_)
        found = len(np.unique(labels))
        sil = np.nan
        if 1 < len(np.unique(labels[sil_rows])) < len(sil_rows):
            with config_context(working_memory=_WORKING_MB):  # sklearn's default is 1 GB
                sil = float(silhouette_score(x[sil_rows], labels[sil_rows]))
        db = float(davies_bouldin_score(x, labels)) if 1 < found < len(x) else np.nan
        table.append(SweepRow(k, inertia, sil, db, time.perf_counter() - started))
        centres[k] = model.cluster_centers_.astype(np.float32)
    return table, centres


def choose_k(table: list[SweepRow]) -> int:
    """The k with the best silhouette (ties and all-NaN: the smallest k)."""
    scored = [r for r in table if not math.isnan(r.silhouette)]
    if not scored:
        return table[0].k
    return max(scored, key=lambda r: (r.silhouette, -r.k)).k


def explain(table: list[SweepRow], k: int) -> list[str]:
    """Plain-language notes on what the sweep found."""
    best = next(r for r in table if r.k == k)
    notes = [f"k={k} has the best silhouette ({best.silhouette:.3f})"
             if not math.isnan(best.silhouette) else f"k={k}: no silhouette could be computed"]
    if len(table) > 1 and k == max(r.k for r in table):
        notes.append("the silhouette is best at the largest k tried: the data may hold more "
                     "groups; try a wider --k range")
    if len(table) > 1 and k == min(r.k for r in table):
        notes.append("the silhouette is best at the smallest k tried: the users split coarsely")
    if not math.isnan(best.silhouette) and best.silhouette < 0.25:
        notes.append("silhouette below 0.25: weak structure, the clusters partition a continuum "
                     "rather than separate distinct groups")
    return notes
