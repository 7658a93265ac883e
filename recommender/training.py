"""The training pipeline: split, grid search on validation, test against baselines, refit on all.

Hyperparameters are chosen on the validation set (best validation NDCG@K); the figures reported
are the test set's, for ALS refitted on train + validation with the chosen parameters and for
every baseline fitted on the same; the model kept is refitted on all the data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recommender.baselines import BASELINES
from recommender.errors import DataError
from recommender.grid import Grid

if TYPE_CHECKING:
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares

    from recommender.data import Interactions
    from recommender.split import Split

__all__ = ["TrainConfig", "TrainResult", "choose", "fit_final", "test_metrics", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """How to split, score and search."""

    k: int = 10
    split: str = "holdout"
    test_fraction: float = 0.2
    val_fraction: float = 0.2
    leave_k: int = 1
    seed: int = 0
    workers: int = 0
    baselines: tuple[str, ...] = BASELINES

    def split_args(self) -> dict[str, Any]:
        return {"test_fraction": self.test_fraction, "val_fraction": self.val_fraction,
                "k": self.leave_k, "seed": self.seed}


@dataclass
class TrainResult:
    """What a training run found: every configuration, the chosen one, and its test figures."""

    params: dict[str, Any]
    results: list[dict[str, Any]]
    validation: dict[str, float]
    test: dict[str, dict[str, float]]
    model: AlternatingLeastSquares | None = None
    timings: dict[str, float] = field(default_factory=dict)


def choose(results: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any]:
    """The row with the best validation NDCG@k (ties: the faster fit)."""
    if not results:
        raise DataError("the grid search produced no results")
    best = max(results, key=lambda r: (r[f"ndcg@{k}"], -r["fit_seconds"]))
    return dict(best)


def _params(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("transform", "bm25", "factors", "regularization", "alpha", "iterations")
    return {key: row[key] for key in keys}


def test_metrics(
    split: Split, params: Mapping[str, Any], config: TrainConfig, clusters: np.ndarray | None = None
) -> dict[str, dict[str, float]]:
    """Test figures of ALS (refitted on train + validation with `params`) and of each baseline;
    with `clusters` (a label per user row, -1 none), of cluster popularity too."""
    from recommender.als import blas_single_thread, fit_als
    from recommender.baselines import FactorScorer, make_baseline
    from recommender.evaluation import EvalSet, evaluate
    from recommender.events import apply_confidence

    development = split.development
    eval_set = EvalSet(development, split.test)
    confidence = apply_confidence(development, params["transform"], params["bm25"])
    model, _ = fit_als(confidence, params, seed=config.seed)
    out = {"als": evaluate(FactorScorer(model.user_factors, model.item_factors), eval_set,
                           config.k, auc=True)}
    with blas_single_thread():
        for name in config.baselines:
            scorer = make_baseline(name, development, seed=config.seed)
            out[name] = evaluate(scorer, eval_set, config.k, auc=True)
        if clusters is not None:
            from recommender.cluster_popularity import ClusterPopularity

            scorer = ClusterPopularity(min_support=5).fit(development, clusters)
            out["cluster_popularity"] = evaluate(scorer, eval_set, config.k, auc=True)
    return out


def fit_final(
    data: Interactions, params: Mapping[str, Any], seed: int = 0
) -> tuple[AlternatingLeastSquares, float]:
    """ALS with `params` fitted on all the interactions (the model that is saved)."""
    from recommender.als import fit_als
    from recommender.events import apply_confidence

    confidence = apply_confidence(data.matrix, params["transform"], params["bm25"])
    return fit_als(confidence, params, seed=seed)


def train(
    data: Interactions,
    grid: Grid,
    config: TrainConfig = TrainConfig(),
    *,
    on_fit: Callable[[], None] | None = None,
    refit: bool = True,
    clusters: np.ndarray | None = None,
) -> TrainResult:
    """Search `grid` on a validation split of `data`, report test figures, refit on all of it.

    `clusters` (one label per user row) adds the cluster-popularity baseline to the test."""
    import time

    from recommender.grid import search
    from recommender.split import make_split

    unknown = [b for b in config.baselines if b not in BASELINES]
    if unknown:
        raise DataError(f"unknown baseline {unknown[0]!r}; use {', '.join(BASELINES)}")
    started = time.perf_counter()
    split = make_split(data, config.split, **config.split_args())
    if split.validation.nnz == 0:
        raise DataError("too little data to split: nothing left for validation")
    results = search(split, grid, k=config.k, seed=config.seed, workers=config.workers,
                     on_fit=on_fit)
    searched = time.perf_counter()
    best = choose(results, config.k)
    params = _params(best)
    test = test_metrics(split, params, config, clusters)
    tested = time.perf_counter()
    model = fit_final(data, params, config.seed)[0] if refit else None
    timings = {"search_seconds": searched - started, "test_seconds": tested - searched,
               "refit_seconds": time.perf_counter() - tested}
    validation = {k: v for k, v in best.items() if k not in params and k != "fit_seconds"}
    return TrainResult(params, results, validation, test, model, timings)
