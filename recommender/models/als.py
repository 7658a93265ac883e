"""Implicit's ALS behind the model interface, with BLAS pinned and checkpoints along the iterations.

`ALS.fit` fits once to the largest iteration count and calls `on_checkpoint` after each listed
count, with the model exactly as a fit stopped there would leave it: ALS carries no state between
iterations but the factors, so evaluating at iteration n of a longer fit is evaluating a fit to n.

A fitted or loaded model is two factor matrices; implicit (slow to import) is loaded again only
to fold a user in or to explain a recommendation. `als.npz` is implicit's own save format, so
`implicit.cpu.als.AlternatingLeastSquares.load` reads it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.models.base import Model
from recommender.ranking import Exclusions, TopN

if TYPE_CHECKING:
    from implicit.cpu.als import AlternatingLeastSquares
    from numpy.typing import NDArray
    from scipy.sparse import csr_matrix

__all__ = ["ALS", "ALS_PARAMS", "blas_single_thread"]

ALS_PARAMS = ("factors", "regularization", "alpha", "iterations")
"""ALS's hyperparameters, as the grid, the search and the model card name them."""


@contextmanager
def blas_single_thread() -> Iterator[None]:
    """Pin BLAS to one thread, as implicit asks (its own threads do the parallel work)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


class ALS(Model):
    """Alternating least squares on a confidence matrix (Hu, Koren & Volinsky 2008)."""

    family = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.3, alpha: float = 10.0,
                 iterations: int = 20, *, seed: int = 0, num_threads: int = 0) -> None:
        self.params: dict[str, Any] = {"factors": int(factors), "regularization": float(regularization),
                                       "alpha": float(alpha), "iterations": int(iterations)}
        self.seed = seed
        self.num_threads = num_threads
        self.user_factors: NDArray[np.float32] = np.zeros((0, int(factors)), np.float32)
        self.item_factors: NDArray[np.float32] = np.zeros((0, int(factors)), np.float32)
        self.fit_seconds = 0.0
        self._implicit: AlternatingLeastSquares | None = None
        self._ranker: TopN | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, seed: int = 0, num_threads: int = 0) -> ALS:
        """An unfitted model with the ALS entries of `params` (others, e.g. transform, ignored)."""
        return cls(**{k: params[k] for k in ALS_PARAMS}, seed=seed, num_threads=num_threads)

    @property
    def n_items(self) -> int:
        return len(self.item_factors)

    @property
    def n_users(self) -> int:
        return len(self.user_factors)

    def _solver(self, iterations: int) -> AlternatingLeastSquares:
        import warnings

        from implicit.cpu.als import AlternatingLeastSquares

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # BLAS threads: pinned around fit
            return AlternatingLeastSquares(
                factors=self.params["factors"], regularization=self.params["regularization"],
                alpha=self.params["alpha"], iterations=iterations, random_state=self.seed,
                num_threads=self.num_threads)

    def fit(self, matrix: csr_matrix, *, checkpoints: Iterable[int] = (),
            on_checkpoint: Callable[[int, ALS, float], None] | None = None) -> ALS:
        """Fit on `matrix` (users x items confidences) to max(iterations, checkpoints).

        After each iteration count in `checkpoints`, `on_checkpoint(n, self, fit_seconds)` runs,
        fit_seconds being the fitting time so far (time spent in the callback excluded).
        """
        wanted = sorted({int(n) for n in checkpoints})
        solver = self._solver(max([self.params["iterations"], *wanted]))
        spent = [0.0]
        mark = [0.0]

        def callback(iteration: int, _elapsed: float, _loss: Any) -> None:
            now = time.perf_counter()
            spent[0] += now - mark[0]
            if on_checkpoint is not None and iteration + 1 in wanted:
                self.user_factors, self.item_factors = solver.user_factors, solver.item_factors
                on_checkpoint(iteration + 1, self, spent[0])
            mark[0] = time.perf_counter()

        with blas_single_thread():
            mark[0] = time.perf_counter()
            solver.fit(matrix, show_progress=False, callback=callback)
        self.user_factors, self.item_factors = solver.user_factors, solver.item_factors
        self.fit_seconds = spent[0]
        self._implicit, self._ranker, self._normed = solver, None, None
        return self

    def score(self, users: NDArray[np.int64]) -> NDArray[np.float32]:
        return self.user_factors[users] @ self.item_factors.T

    def recommend(self, users: NDArray[np.int64], n: int, exclusions: Exclusions | None = None) -> tuple[
            NDArray[np.int64], NDArray[np.float32]]:
        """As `Model.recommend`, pruned by blocks of items (`ranking.TopN`)."""
        if self._ranker is None:
            self._ranker = TopN(self.item_factors)
        return self._ranker.batch(self.user_factors[users], n, exclusions)

    def item_vectors(self) -> NDArray[np.float32]:
        return np.asarray(self.item_factors, np.float32)

    # -- folding in and explaining (implicit) -----------------------------------------------
    def solver(self) -> AlternatingLeastSquares:
        """Implicit's model with these factors (for recalculate_user and explain)."""
        if self._implicit is None:
            solver = self._solver(self.params["iterations"])
            solver.user_factors, solver.item_factors = self.user_factors, self.item_factors
            self._implicit = solver
        return self._implicit

    def fold_in(self, row: csr_matrix) -> NDArray[np.float32]:
        """Scores for a user not in the model: their factors solved from their confidence row
        (implicit's recalculate_user), times the item factors."""
        return self.item_factors @ np.asarray(self.solver().recalculate_user(0, row), np.float32)

    def with_users(self, rows: csr_matrix, at: NDArray[np.int64]) -> ALS:
        """The users' factors solved again from their rows with the item factors fixed (implicit's
        recalculate_user, the exact least-squares step of an ALS iteration); new ones appended."""
        factors = np.asarray(self.solver().recalculate_user(np.arange(rows.shape[0]), rows), np.float32) \
            if rows.shape[0] else np.zeros((0, self.item_factors.shape[1]), np.float32)
        new = at < 0
        out = ALS.from_arrays(self.arrays())
        out.user_factors = np.concatenate([self.user_factors, factors[new]])
        out.user_factors[at[~new]] = factors[~new]
        return out

    def explain(self, row: csr_matrix, columns: Iterable[int], n: int = 3) -> list[list[tuple[int, float]]]:
        """For each recommended column, the `n` columns of `row` that account most for its score."""
        solver, weights, out = self.solver(), None, []
        for column in columns:
            _, top, weights = solver.explain(0, row, int(column), user_weights=weights, N=n)
            out.append([(int(c), float(s)) for c, s in top])
        return out

    # -- saving ------------------------------------------------------------------------------
    def arrays(self) -> dict[str, Any]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors,
                **self.params, "random_state": self.seed, "dtype": str(self.item_factors.dtype)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> ALS:
        users, items = np.asarray(arrays["user_factors"]), np.asarray(arrays["item_factors"])
        if users.ndim != 2 or items.ndim != 2 or users.shape[1] != items.shape[1]:
            raise ValueError(f"inconsistent factors {users.shape} / {items.shape}")
        width: Any = arrays["factors"] if "factors" in arrays else items.shape[1]
        model = cls(factors=int(width),
                    regularization=float(arrays.get("regularization", 0.0)), alpha=float(arrays.get("alpha", 1.0)),
                    iterations=int(arrays.get("iterations", 1)), seed=int(arrays.get("random_state", 0) or 0))
        model.user_factors, model.item_factors = users, items
        return model
