"""The grid search: every configuration fitted on train and scored on validation.

The iterations axis costs nothing extra: each (transform, bm25, factors, regularization, alpha)
is fitted once to the largest iteration count and evaluated at every listed count on the way.
Configurations run concurrently (implicit's solver releases the GIL), BLAS pinned to one thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from recommender.evaluation.grid import PARAMS, Grid

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from recommender.data.splits import Split

__all__ = ["search"]


def _threads(workers: int) -> tuple[int, int]:
    cores = os.cpu_count() or 1
    workers = max(1, min(workers or cores, cores))
    return workers, max(1, cores // workers)


def search(
    split: Split,
    grid: Grid,
    *,
    k: int = 10,
    seed: int = 0,
    workers: int = 0,
    confidence: Callable[[csr_matrix, str, bool], csr_matrix] | None = None,
    on_fit: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Fit every configuration on `split.train`, score it on `split.validation`.

    Returns one row per (configuration, iteration count): its parameters, validation metrics
    (keys like "ndcg@10") and fit_seconds (fitting time to that iteration count). `workers`
    configurations run at once (0: one per core), each ALS using cores // workers threads.
    `on_fit` is called after each finished fit (a progress bar's hook).
    """
    from recommender.data.events import apply_confidence
    from recommender.evaluation.evaluator import EvalSet, evaluate
    from recommender.models.als import ALS

    confidence = confidence or apply_confidence
    eval_set = EvalSet(split.train, split.validation)
    matrices = {
        (t, b): confidence(split.train, t, b) for t in grid.transform for b in grid.bm25
    }
    workers, threads = _threads(workers)

    def run(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []

        def checkpoint(n: int, model: ALS, seconds: float) -> None:
            rows.append({**params, "iterations": n, **evaluate(model, eval_set, k), "fit_seconds": seconds})

        matrix = matrices[(params["transform"], params["bm25"])]
        ALS.from_params(params, seed=seed, num_threads=threads).fit(
            matrix, checkpoints=grid.iterations, on_checkpoint=checkpoint)
        return rows

    results: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, params) for params in grid.fits()]
        for future in as_completed(futures):
            results.extend(future.result())
            if on_fit is not None:
                on_fit()
    results.sort(key=lambda r: tuple(str(r[a]) if isinstance(r[a], str | bool) else r[a] for a in PARAMS))
    return results
