"""Cluster popularity: the anime most popular inside the user's cluster that the user has not seen.

Fitted on a users x items matrix (any non-zero counts as "has it") and one cluster label per user
row (-1 for a user without a cluster, e.g. one the segmentation never saw). An item counts for a
cluster once at least `min_support` of its members have it, so that one fan's favourite cannot
top a small cluster's list; the rest are ordered by global popularity, after every supported item
(the fallback for unclustered users too).

    labels = store.cluster_labels(data.user_ids)      # or recommender.data.ids.align_labels(...)
    model = ClusterPopularity(labels, min_support=5).fit(train)
    columns, scores = model.recommend(rows, n=10, exclusions=Exclusions.from_matrix(train[rows]))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.models.base import Model

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy.sparse import csr_matrix

__all__ = ["ClusterPopularity"]


class ClusterPopularity(Model):
    """Most popular unseen items within the user's cluster, with a minimum support.

    `labels` holds one cluster per row of the matrix it will be fitted on (-1: none).
    """

    family = "cluster_popularity"

    def __init__(self, labels: Any = (), min_support: int = 5) -> None:
        if min_support < 1:
            raise ValueError("min_support must be at least 1")
        self.labels = np.asarray(labels, dtype=np.int64)
        self.min_support = min_support
        self.counts: NDArray[np.float32] = np.zeros((0, 0), np.float32)
        self.fallback: NDArray[np.float32] = np.zeros(0, np.float32)
        self.cluster_scores: NDArray[np.float32] = np.zeros((0, 0), np.float32)

    @property
    def n_items(self) -> int:
        return len(self.fallback)

    @property
    def n_users(self) -> int:
        return len(self.labels)

    def fit(self, matrix: csr_matrix) -> ClusterPopularity:
        """Count, per cluster, the members having each item (any non-zero counts)."""
        labels = self.labels
        if len(labels) != matrix.shape[0]:
            raise ValueError(f"{len(labels)} labels for {matrix.shape[0]} rows")
        n_items = matrix.shape[1]
        k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
        rows = np.repeat(labels, np.diff(matrix.indptr))
        keep = (rows >= 0) & (matrix.data != 0)
        counts = np.bincount(rows[keep] * n_items + matrix.indices[keep], minlength=k * n_items)
        self.counts = counts.reshape(k, n_items).astype(np.float32)
        popularity = np.bincount(matrix.indices[matrix.data != 0], minlength=n_items).astype(np.float32)
        # In [0, 1): orders what is not supported, never above a supported item (count >= 1).
        self.fallback = (popularity / (popularity.max(initial=0.0) + 1.0)).astype(np.float32)
        return self._score_clusters()

    def _score_clusters(self) -> ClusterPopularity:
        supported = np.where(self.counts >= self.min_support, self.counts, 0.0)
        self.cluster_scores = (supported + self.fallback).astype(np.float32)
        return self

    def score(self, users: NDArray[np.int64]) -> NDArray[np.float32]:
        labels = self.labels[np.asarray(users)]
        out = np.empty((len(labels), len(self.fallback)), dtype=np.float32)
        clustered = labels >= 0
        out[clustered] = self.cluster_scores[labels[clustered]]
        out[~clustered] = self.fallback
        return out

    def fold_in(self, row: csr_matrix) -> NDArray[np.float32]:
        """A new user has no cluster: global popularity."""
        return self.fallback.copy()

    def arrays(self) -> dict[str, Any]:
        return {"labels": self.labels, "min_support": self.min_support, "counts": self.counts,
                "fallback": self.fallback}

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> ClusterPopularity:
        model = cls(arrays["labels"], int(arrays["min_support"]))
        model.counts = np.asarray(arrays["counts"], np.float32)
        model.fallback = np.asarray(arrays["fallback"], np.float32)
        return model._score_clusters()
