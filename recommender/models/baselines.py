"""The simplest baselines any model must beat: popularity and (seeded) random scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.models.base import Model

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy.sparse import csr_matrix

__all__ = ["Popularity", "Random"]


class Popularity(Model):
    """Every user gets the items most users have in training."""

    family = "popularity"

    def __init__(self) -> None:
        self.counts: NDArray[np.float32] = np.zeros(0, np.float32)

    @property
    def n_items(self) -> int:
        return len(self.counts)

    def fit(self, matrix: csr_matrix) -> Popularity:
        self.counts = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float32)
        return self

    def score(self, users: NDArray[np.int64]) -> NDArray[np.float32]:
        return np.broadcast_to(self.counts, (len(users), len(self.counts))).copy()

    def fold_in(self, row: csr_matrix) -> NDArray[np.float32]:
        return self.counts.copy()

    def arrays(self) -> dict[str, Any]:
        return {"counts": self.counts}

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> Popularity:
        model = cls()
        model.counts = np.asarray(arrays["counts"], np.float32)
        return model


class Random(Model):
    """Uniformly random scores (seeded): the floor any model must clear."""

    family = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.items = 0
        self.rng = np.random.default_rng(seed)

    @property
    def n_items(self) -> int:
        return self.items

    def fit(self, matrix: csr_matrix) -> Random:
        self.items = int(matrix.shape[1])
        return self

    def score(self, users: NDArray[np.int64]) -> NDArray[np.float32]:
        return self.rng.random((len(users), self.items), dtype="float32")

    def arrays(self) -> dict[str, Any]:
        return {"items": self.items, "seed": self.seed}

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> Random:
        model = cls(int(arrays["seed"]))
        model.items = int(arrays["items"])
        return model
