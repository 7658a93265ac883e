"""EASE: a closed-form item-item model (Steck, "Embarrassingly Shallow Autoencoders", 2019).

    G = XᵀX + λI,  P = G⁻¹,  B = -P / diag(P) (column-wise),  diag(B) = 0,  scores = X_u B

The cost is one dense inversion of an items x items matrix: O(items³) time and 8·items² bytes.
The model is therefore fitted on the `max_items` items most users have (5,000 by default: a
200 MB Gram matrix and a few seconds on two cores); the rest score -inf and are never recommended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.models.base import Model, with_rows
from recommender.ranking import top_n_row

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy.sparse import csr_matrix

__all__ = ["EASE"]


class EASE(Model):
    """Item-item weights B from a ridge regression of each item on all the others."""

    family = "ease"

    def __init__(self, regularization: float = 500.0, max_items: int = 5000) -> None:
        if regularization <= 0 or max_items < 1:
            raise ValueError("EASE needs regularization > 0 and max_items >= 1")
        self.regularization = float(regularization)
        self.max_items = int(max_items)
        self.columns: NDArray[np.int64] = np.zeros(0, np.int64)
        self.weights: NDArray[np.float32] = np.zeros((0, 0), np.float32)
        self.train: csr_matrix | None = None
        self.items = 0

    @property
    def n_items(self) -> int:
        return self.items

    @property
    def n_users(self) -> int:
        return 0 if self.train is None else int(self.train.shape[0])

    def fit(self, matrix: csr_matrix) -> EASE:
        counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
        order = np.argsort(-counts, kind="stable")[:self.max_items]
        self.columns = np.sort(order[counts[order] > 0]).astype(np.int64)
        x = matrix[:, self.columns].astype(np.float64)
        gram = np.asarray((x.T @ x).todense())
        gram[np.diag_indices_from(gram)] += self.regularization
        inverse = np.linalg.inv(gram)
        weights = inverse / -np.diag(inverse)
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights = weights.astype(np.float32)
        self.train = matrix.tocsr()
        self.items = int(matrix.shape[1])
        return self

    def _scores(self, rows: csr_matrix) -> NDArray[np.float32]:
        out = np.full((rows.shape[0], self.items), -np.inf, np.float32)
        out[:, self.columns] = np.asarray(rows[:, self.columns] @ self.weights, np.float32)
        return out

    def score(self, users: NDArray[np.int64]) -> NDArray[np.float32]:
        assert self.train is not None, "fit the model first"
        return self._scores(self.train[users])

    def fold_in(self, row: csr_matrix) -> NDArray[np.float32]:
        return self._scores(row)[0]

    def with_users(self, rows: csr_matrix, at: NDArray[np.int64]) -> EASE:
        """The users' rows replaced (or appended): they are all a user is to this model."""
        assert self.train is not None, "fit the model first"
        out = self.from_arrays(self.arrays())
        out.train = with_rows(self.train, rows, at)
        return out

    def explain(self, row: csr_matrix, columns: Any, n: int = 3) -> list[list[tuple[int, float]]]:
        """Each column's score as the sum of row[j] · B[j, column] over the user's items j."""
        at = {int(c): k for k, c in enumerate(self.columns)}
        history = [(int(j), float(v)) for j, v in zip(row.indices, row.data) if int(j) in at]
        out = []
        for column in columns:
            k = at.get(int(column))
            parts = [] if k is None else [(j, v * float(self.weights[at[j], k])) for j, v in history]
            out.append(sorted(parts, key=lambda p: -p[1])[:n])
        return out

    def similar(self, item: int, n: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The items that `item` weighs most in their scores (row `item` of B)."""
        at = np.searchsorted(self.columns, item)
        if at >= len(self.columns) or self.columns[at] != item:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        row = np.full(self.items, -np.inf, np.float32)
        row[self.columns] = self.weights[at, :]
        return top_n_row(row, n, [item])

    def arrays(self) -> dict[str, Any]:
        assert self.train is not None, "fit the model first"
        return {"regularization": self.regularization, "max_items": self.max_items, "items": self.items,
                "columns": self.columns, "weights": self.weights, "train_data": self.train.data,
                "train_indices": self.train.indices, "train_indptr": self.train.indptr,
                "train_shape": np.asarray(self.train.shape)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> EASE:
        from scipy.sparse import csr_matrix

        model = cls(float(arrays["regularization"]), int(arrays["max_items"]))
        model.items = int(arrays["items"])
        model.columns = np.asarray(arrays["columns"], np.int64)
        model.weights = np.asarray(arrays["weights"], np.float32)
        model.train = csr_matrix((arrays["train_data"], arrays["train_indices"], arrays["train_indptr"]),
                                 shape=tuple(arrays["train_shape"]))
        return model
