"""The training pipeline: split, search on validation, test against baselines, refit, save.

Hyperparameters are chosen on the validation set (best validation NDCG@K); the figures reported
are the test set's, for the model refitted on train + validation with the chosen parameters and
for every baseline fitted on the same; the model kept is refitted on all the data.

    card, result = train_and_save(data, Grid(), TrainConfig(), model_dir, weights=weights)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import DataError
from recommender.evaluation.grid import Grid, params_of
from recommender.evaluation.metrics import PRIMARY_METRIC, metric_key
from recommender.models.factory import BASELINES

if TYPE_CHECKING:
    import numpy as np

    from recommender.data.events import EventWeights
    from recommender.data.interactions import Interactions
    from recommender.data.splits import Split
    from recommender.models.als import ALS
    from recommender.registry import ModelCard

__all__ = ["DEFAULT_PARAMS", "TrainConfig", "TrainResult", "choose", "fit_final", "test_metrics", "train",
           "train_and_save"]

DEFAULT_PARAMS: dict[str, Any] = {"transform": "log", "bm25": False, "factors": 64, "regularization": 0.3,
                                  "alpha": 10.0, "iterations": 20}
"""The one configuration `recommend train` fits without a grid."""


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

    @property
    def primary(self) -> str:
        """The key every search optimises, e.g. "ndcg@10"."""
        return metric_key(PRIMARY_METRIC, self.k)


@dataclass
class TrainResult:
    """What a training run found: every configuration, the chosen one, and its test figures."""

    params: dict[str, Any]
    results: list[dict[str, Any]]
    validation: dict[str, float]
    test: dict[str, dict[str, float]]
    model: ALS | None = None
    timings: dict[str, float] = field(default_factory=dict)


def choose(results: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any]:
    """The row with the best validation primary metric at k (ties: the faster fit)."""
    if not results:
        raise DataError("the grid search produced no results")
    key = metric_key(PRIMARY_METRIC, k)
    return dict(max(results, key=lambda r: (r[key], -r["fit_seconds"])))


def test_metrics(split: Split, params: Mapping[str, Any], config: TrainConfig,
                 clusters: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Test figures of ALS (refitted on train + validation with `params`) and of each baseline;
    with `clusters` (a label per user row, -1 none), of cluster popularity too."""
    from recommender.data.events import apply_confidence
    from recommender.evaluation.evaluator import EvalSet, evaluate
    from recommender.models.als import ALS, blas_single_thread
    from recommender.models.cluster_popularity import ClusterPopularity
    from recommender.models.factory import make_model

    development = split.development
    eval_set = EvalSet(development, split.test)
    confidence = apply_confidence(development, params["transform"], params["bm25"])
    als = ALS.from_params(params, seed=config.seed).fit(confidence)
    out = {"als": evaluate(als, eval_set, config.k, auc=True)}
    with blas_single_thread():
        for name in config.baselines:
            baseline = make_model(name, **({"seed": config.seed} if name == "random" else {}))
            out[name] = evaluate(baseline.fit(development), eval_set, config.k, auc=True)
        if clusters is not None:
            model = ClusterPopularity(clusters, min_support=5).fit(development)
            out[model.family] = evaluate(model, eval_set, config.k, auc=True)
    return out


def fit_final(data: Interactions, params: Mapping[str, Any], seed: int = 0) -> ALS:
    """ALS with `params` fitted on all the interactions (the model that is saved)."""
    from recommender.data.events import apply_confidence
    from recommender.models.als import ALS

    confidence = apply_confidence(data.matrix, params["transform"], params["bm25"])
    return ALS.from_params(params, seed=seed).fit(confidence)


def train(data: Interactions, grid: Grid, config: TrainConfig = TrainConfig(), *,
          on_fit: Callable[[], None] | None = None, refit: bool = True,
          clusters: np.ndarray | None = None) -> TrainResult:
    """Search `grid` on a validation split of `data`, report test figures, refit on all of it.

    `clusters` (one label per user row) adds the cluster-popularity baseline to the test."""
    from recommender.data.splits import make_split
    from recommender.evaluation.grid_search import search

    unknown = [b for b in config.baselines if b not in BASELINES]
    if unknown:
        raise DataError(f"unknown baseline {unknown[0]!r}; use {', '.join(BASELINES)}")
    started = time.perf_counter()
    split = make_split(data, config.split, **config.split_args())
    if split.validation.nnz == 0:
        raise DataError("too little data to split: nothing left for validation")
    results = search(split, grid, k=config.k, seed=config.seed, workers=config.workers, on_fit=on_fit)
    searched = time.perf_counter()
    best = choose(results, config.k)
    params = params_of(best)
    test = test_metrics(split, params, config, clusters)
    tested = time.perf_counter()
    model = fit_final(data, params, config.seed) if refit else None
    timings = {"search_seconds": searched - started, "test_seconds": tested - searched,
               "refit_seconds": time.perf_counter() - tested}
    validation = {k: v for k, v in best.items() if k not in params and k != "fit_seconds"}
    return TrainResult(params, results, validation, test, model, timings)


def card_of(result: TrainResult, data: Interactions, config: TrainConfig, weights: EventWeights,
            source: dict[str, Any], filters: Mapping[str, int] | None = None) -> ModelCard:
    """The model card of a training run (version and time are set when it is saved)."""
    from recommender.registry import ModelCard

    return ModelCard(family="als", params=result.params, weights=weights, config=config,
                     validation=result.validation, test=result.test, fingerprint=data.fingerprint(),
                     shape=data.shape, nnz=data.nnz, source=source, filters=dict(filters or {}),
                     timings=result.timings)


def train_and_save(data: Interactions, grid: Grid, config: TrainConfig, model_dir: Path, *,
                   weights: EventWeights, source: dict[str, Any] | None = None,
                   filters: Mapping[str, int] | None = None, clusters: np.ndarray | None = None,
                   on_fit: Callable[[], None] | None = None) -> tuple[ModelCard, TrainResult]:
    """Train (`train`) and save the refitted model with its card, results CSV and heatmap under
    `model_dir`; returns the saved card (with its version) and the training result."""
    import tempfile

    from recommender.registry import check_writable, save_model
    from recommender.reports import write_reports

    check_writable(model_dir)
    result = train(data, grid, config, on_fit=on_fit, clusters=clusters)
    assert result.model is not None
    card = card_of(result, data, config, weights, source or {"kind": "unknown"}, filters)
    with tempfile.TemporaryDirectory() as scratch:
        files = write_reports(result.results, config.k, Path(scratch))
        saved = save_model(model_dir, result.model, data.user_ids, data.item_ids, card, files)
    return saved, result
