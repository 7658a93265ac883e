"""Cluster popularity: the anime most popular inside the user's cluster that the user has not seen.

Fitted on a users x items matrix (any non-zero counts as "has it") and one cluster label per user
row (-1 for a user without a cluster, e.g. one the segmentation never saw). An item counts for a
cluster once at least `min_support` of its members have it, so that one fan's favourite cannot
top a small cluster's list; the rest are ordered by global popularity, after every supported item
(the fallback for unclustered users too). Callable as a Scorer like the other baselines.

    labels = align_labels(data.user_ids, segments.user_ids, segments.labels)
    scorer = ClusterPopularity(min_support=5).fit(train, labels)
    items, scores = scorer.recommend(row, n=10)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

__all__ = ["ClusterPopularity", "align_labels", "store_clusters"]


def align_labels(row_ids: np.ndarray, labelled_ids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels for the matrix's rows (`row_ids`, user ids) from (user id, label) pairs; -1 if none."""
    import numpy as np

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


class ClusterPopularity:
    """Most popular unseen items within the user's cluster, with a minimum support."""

    def __init__(self, min_support: int = 5) -> None:
        if min_support < 1:
            raise ValueError("min_support must be at least 1")
        self.min_support = min_support

    def fit(self, matrix: csr_matrix, labels: np.ndarray) -> ClusterPopularity:
        """Count, per cluster, the members having each item (`labels`: one per row, -1 none)."""
        import numpy as np

        labels = np.asarray(labels, dtype=np.int64)
        if len(labels) != matrix.shape[0]:
            raise ValueError(f"{len(labels)} labels for {matrix.shape[0]} rows")
        n_items = matrix.shape[1]
        k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
        rows = np.repeat(labels, np.diff(matrix.indptr))
        keep = (rows >= 0) & (matrix.data != 0)
        counts = np.bincount(rows[keep] * n_items + matrix.indices[keep], minlength=k * n_items)
        self.counts = counts.reshape(k, n_items).astype(np.float32)
        popularity = np.bincount(matrix.indices[matrix.data != 0], minlength=n_items)
        self.popularity = popularity.astype(np.float32)
        # In [0, 1): orders what is not supported, never above a supported item (count >= 1).
        fallback = self.popularity / (self.popularity.max() + 1.0)
        supported = np.where(self.counts >= self.min_support, self.counts, 0.0)
        self.cluster_scores = (supported + fallback).astype(np.float32)
        self.fallback = fallback.astype(np.float32)
        self.labels = labels
        self.seen = matrix.tocsr()
        return self

    def __call__(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for the user rows `users` (users x items); seen items not masked."""
        import numpy as np

        labels = self.labels[np.asarray(users)]
        out = np.empty((len(labels), len(self.fallback)), dtype=np.float32)
        clustered = labels >= 0
        out[clustered] = self.cluster_scores[labels[clustered]]
        out[~clustered] = self.fallback
        return out

    def recommend(self, user: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The top-`n` items the user's row has not seen, and their scores (best first)."""
        import numpy as np

        scores = self(np.array([user]))[0]
        row = self.seen[user]
        scores[row.indices[row.data != 0]] = -np.inf
        n = min(n, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, n - 1)[:n] if n > 0 else np.empty(0, dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        return top, scores[top]


def store_clusters(row_ids: np.ndarray, database_url: str | None) -> np.ndarray | None:
    """Cluster labels for the rows (user ids) from the newest `segment-users` run with clusters
    in the store; None when there is none (the cluster baseline is then left out)."""
    from kitsu_ingest.segment.store import load_cluster_labels
    from kitsu_ingest.settings import get_settings
    from kitsu_ingest.store.migrate import open_store

    segments = load_cluster_labels(open_store(get_settings(database_url=database_url).database_url))
    if segments is None:
        return None
    return align_labels(row_ids, segments.user_ids, segments.labels)
