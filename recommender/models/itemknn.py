"""Item-item nearest neighbours (implicit's BM25 or cosine recommender).

A user's score for an item is the sum of its similarities to the items the user trained on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.models.base import Model, with_rows
from recommender.ranking import top_n_row

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy.sparse import csr_matrix

__all__ = ["ItemKNN"]

KINDS = ("bm25", "cosine")


class ItemKNN(Model):
    """Item-kNN over the training matrix, `neighbours` most similar items kept per item."""

    family = "itemknn"

    def __init__(self, kind: str = "bm25", neighbours: int = 100, num_threads: int = 0) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown item-kNN kind {kind!r}; use one of {KINDS}")
        self.kind = kind
        self.neighbours = neighbours
        self.num_threads = num_threads
        self.train: csr_matrix | None = None
        self.similarity: csr_matrix | None = None

    @property
    def n_items(self) -> int:
        return 0 if self.similarity is None else int(self.similarity.shape[0])

    @property
    def n_users(self) -> int:
        return 0 if self.train is None else int(self.train.shape[0])

    def fit(self, matrix: csr_matrix) -> ItemKNN:
        import warnings

        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        kind = BM25Recommender if self.kind == "bm25" else CosineRecommender
        model = kind(K=self.neighbours, num_threads=self.num_threads)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # implicit warns about its own internal COO matrix
            model.fit(matrix, show_progress=False)
        self.train = matrix.tocsr()
        self.similarity = model.similarity.tocsr()
        return self

    def score(self, users: NDArray[np.int64]) -> NDArray[np.float32]:
        assert self.train is not None and self.similarity is not None, "fit the model first"
        return np.asarray((self.train[users] @ self.similarity).todense(), dtype=np.float32)

    def fold_in(self, row: csr_matrix) -> NDArray[np.float32]:
        assert self.similarity is not None, "fit the model first"
        return np.asarray((row @ self.similarity).todense(), np.float32).ravel()

    def with_users(self, rows: csr_matrix, at: NDArray[np.int64]) -> ItemKNN:
        """The users' rows replaced (or appended): they are all a user is to this model."""
        assert self.train is not None, "fit the model first"
        out = self.from_arrays(self.arrays())
        out.train = with_rows(self.train, rows, at)
        return out

    def explain(self, row: csr_matrix, columns: Any, n: int = 3) -> list[list[tuple[int, float]]]:
        """Each column's score as the sum of row[j] · similarity[j, column] over the user's items j."""
        assert self.similarity is not None, "fit the model first"
        out = []
        for column in columns:
            weights = np.asarray(self.similarity[row.indices, int(column)].todense()).ravel() * row.data
            keep = np.flatnonzero(weights)
            best = keep[np.argsort(-weights[keep], kind="stable")][:n]
            out.append([(int(row.indices[b]), float(weights[b])) for b in best])
        return out

    def similar(self, item: int, n: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The item's nearest neighbours, by the fitted similarity."""
        assert self.similarity is not None, "fit the model first"
        row = np.asarray(self.similarity[item].todense(), np.float32).ravel()
        row[row == 0] = -np.inf  # not a neighbour
        return top_n_row(row, n, [item])

    def arrays(self) -> dict[str, Any]:
        assert self.train is not None and self.similarity is not None, "fit the model first"
        out: dict[str, Any] = {"kind": self.kind, "neighbours": self.neighbours}
        for name, matrix in (("train", self.train), ("similarity", self.similarity)):
            out.update({f"{name}_data": matrix.data, f"{name}_indices": matrix.indices,
                        f"{name}_indptr": matrix.indptr, f"{name}_shape": np.asarray(matrix.shape)})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> ItemKNN:
        from scipy.sparse import csr_matrix

        model = cls(str(arrays["kind"]), int(arrays["neighbours"]))
        model.train, model.similarity = (
            csr_matrix((arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]),
                       shape=tuple(arrays[f"{name}_shape"])) for name in ("train", "similarity"))
        return model
