"""Fitting implicit's ALS with BLAS pinned to one thread and checkpoints along the iterations.

`fit_als` fits once to the largest iteration count and calls `on_checkpoint` after each listed
count, with the model exactly as a fit stopped there would leave it: ALS carries no state between
iterations but the factors, so evaluating at iteration n of a longer fit is evaluating a fit to n.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

__all__ = ["ALS_PARAMS", "blas_single_thread", "fit_als", "make_als"]

ALS_PARAMS = ("factors", "regularization", "alpha", "iterations")


@contextmanager
def blas_single_thread() -> Iterator[None]:
    """Pin BLAS to one thread, as implicit asks (its own threads do the parallel work)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def make_als(
    params: Mapping[str, Any], *, seed: int = 0, num_threads: int = 0
) -> AlternatingLeastSquares:
    """An unfitted CPU ALS model with `params` (factors, regularization, alpha, iterations)."""
    import warnings

    from implicit.cpu.als import AlternatingLeastSquares

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # BLAS threads: pinned around fit
        return AlternatingLeastSquares(
            factors=int(params["factors"]),
            regularization=float(params["regularization"]),
            alpha=float(params["alpha"]),
            iterations=int(params["iterations"]),
            random_state=seed,
            num_threads=num_threads,
        )


def fit_als(
    confidence: csr_matrix,
    params: Mapping[str, Any],
    *,
    checkpoints: Iterable[int] = (),
    on_checkpoint: Callable[[int, AlternatingLeastSquares, float], None] | None = None,
    seed: int = 0,
    num_threads: int = 0,
) -> tuple[AlternatingLeastSquares, float]:
    """Fit ALS on `confidence` (users x items) to max(params iterations, checkpoints).

    After each iteration count in `checkpoints`, `on_checkpoint(n, model, fit_seconds)` runs,
    fit_seconds being the fitting time so far (time spent in the callback excluded). Returns the
    model and its total fitting time.
    """
    wanted = sorted({int(n) for n in checkpoints})
    total = max([int(params["iterations"]), *wanted])
    model = make_als({**params, "iterations": total}, seed=seed, num_threads=num_threads)
    spent = [0.0]
    mark = [0.0]

    def callback(iteration: int, _elapsed: float, _loss: Any) -> None:
        now = time.perf_counter()
        spent[0] += now - mark[0]
        if on_checkpoint is not None and iteration + 1 in wanted:
            on_checkpoint(iteration + 1, model, spent[0])
        mark[0] = time.perf_counter()

    with blas_single_thread():
        mark[0] = time.perf_counter()
        model.fit(confidence, show_progress=False, callback=callback)
    return model, spent[0]
