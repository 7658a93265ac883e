"""Scorers: anything that scores every item for a batch of users, ALS and the baselines alike.

A scorer is called with an array of user rows and returns a dense (users x items) float32 array;
higher is better. Items the user trained on are masked by the evaluator, not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

__all__ = [
    "BASELINES",
    "FactorScorer",
    "ItemKNNScorer",
    "PopularityScorer",
    "RandomScorer",
    "Scorer",
    "make_baseline",
]

BASELINES = ("popularity", "itemknn", "random")


class Scorer(Protocol):
    def __call__(self, users: np.ndarray) -> np.ndarray: ...


class FactorScorer:
    """Scores of a factor model: user_factors[u] . item_factors[i]."""

    def __init__(self, user_factors: np.ndarray, item_factors: np.ndarray) -> None:
        self.user_factors = user_factors
        self.item_factors = item_factors

    def __call__(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors[users] @ self.item_factors.T


class PopularityScorer:
    """Every user gets the items most users have in training."""

    def __init__(self, train: csr_matrix) -> None:
        import numpy as np

        self.counts = np.bincount(train.indices, minlength=train.shape[1]).astype(np.float32)

    def __call__(self, users: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.broadcast_to(self.counts, (len(users), len(self.counts))).copy()


class RandomScorer:
    """Uniformly random scores (seeded): the floor any model must clear."""

    def __init__(self, n_items: int, seed: int = 0) -> None:
        import numpy as np

        self.n_items = n_items
        self.rng = np.random.default_rng(seed)

    def __call__(self, users: np.ndarray) -> np.ndarray:
        return self.rng.random((len(users), self.n_items), dtype="float32")


class ItemKNNScorer:
    """Item-item nearest neighbours (implicit's BM25 or cosine recommender): a user's score for
    an item is the sum of its similarities to the items the user trained on."""

    def __init__(
        self, train: csr_matrix, kind: str = "bm25", neighbours: int = 100, num_threads: int = 0
    ) -> None:
        import warnings

        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        model = (
            BM25Recommender(K=neighbours, num_threads=num_threads)
            if kind == "bm25"
            else CosineRecommender(K=neighbours, num_threads=num_threads)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # implicit warns about its own internal COO matrix
            model.fit(train, show_progress=False)
        self.train = train
        self.similarity = model.similarity.tocsr()

    def __call__(self, users: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.asarray((self.train[users] @ self.similarity).todense(), dtype=np.float32)


def make_baseline(name: str, train: csr_matrix, seed: int = 0, num_threads: int = 0) -> Scorer:
    """The baseline called `name` (one of BASELINES) fitted on `train`."""
    if name == "popularity":
        return PopularityScorer(train)
    if name == "itemknn":
        return ItemKNNScorer(train, num_threads=num_threads)
    if name == "random":
        return RandomScorer(train.shape[1], seed)
    raise ValueError(f"unknown baseline {name!r}")
