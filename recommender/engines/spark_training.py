"""`recommend train --engine spark`: the training pipeline with Spark's ALS in place of the search.

One ALS configuration (ALS's defaults, or one value on each grid axis) is fitted by Spark on the
export of the confidence matrix (`recommender.data.export`, written once and reused while the data,
confidence and split are the same) as `recommender.training` fits the model it keeps: on train
(scored on validation), on train + validation (scored on the test set) and on all the data (the
model saved). The split, the baselines, the evaluator and the model card are the training
pipeline's own, so the figures compare with any other run's. Spark's ALS is the model kept,
whatever the baselines score (it is what was asked for); the card's margin over the best baseline
on validation is negative when one beat it. The model is saved as implicit's ALS is, so serving,
batch, fold-in and refresh use it unchanged (and `recommend evaluate` refits the card's
configuration with implicit: the same objective, up to the regularization's scaling).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.engines.master import DEFAULT_MASTER
from recommender.errors import RecommenderError

if TYPE_CHECKING:
    import numpy as np

    from recommender.data.events import EventWeights
    from recommender.data.interactions import Interactions
    from recommender.evaluation.grid import Grid
    from recommender.evaluation.tuning import SearchConfig
    from recommender.protocol import TrainConfig
    from recommender.registry import ModelCard
    from recommender.training import TrainResult

__all__ = ["SparkSettings", "check_spark", "spark_configuration", "train_on_spark", "train_on_spark_and_save"]


@dataclass(frozen=True)
class SparkSettings:
    """Where Spark runs and where the export it reads is."""

    export: Path
    master: str | None = None
    """The Spark master URL (None: DEFAULT_MASTER, every core of this machine)."""


def spark_configuration(grid: Grid | None) -> dict[str, Any]:
    """The one configuration a Spark run fits: ALS's defaults, or the grid's when each of its axes
    holds one value (RecommenderError otherwise: Spark fits one configuration, it does not search)."""
    from recommender.evaluation.grid import PARAMS
    from recommender.evaluation.spaces import DEFAULTS

    if grid is None:
        return dict(DEFAULTS["als"])
    several = [axis for axis in PARAMS if len(getattr(grid, axis)) != 1]
    if several:
        raise RecommenderError(f"--engine spark fits one configuration: give one value for {', '.join(several)} "
                               "(search on a sample with the implicit engine first)")
    params = {axis: getattr(grid, axis)[0] for axis in PARAMS}
    if params["bm25"]:
        raise RecommenderError("--engine spark takes linear or log confidence, not BM25 (it weighs each entry by "
                               "its whole row and column, which differ between train and all the data)")
    return params


def check_spark(settings: SparkSettings, search: SearchConfig) -> dict[str, Any]:
    """Everything a Spark run can be refused for, before any data is read: a search asked for
    (`spark_configuration`), pyspark or Java missing, a master that does not answer, an export
    folder that is not ours. Returns the configuration to fit."""
    from recommender.data.export import read_manifest
    from recommender.engines.spark import check_engine

    searching = "--tune-weights" if search.tune_weights else "--storage" if search.storage is not None else None
    if searching:
        raise RecommenderError(f"--engine spark fits one configuration and {searching} searches: "
                               "use the implicit engine for that")
    params = spark_configuration(search.grid)
    check_engine(settings.master or DEFAULT_MASTER)
    read_manifest(settings.export)
    return params


def train_on_spark(data: Interactions, config: TrainConfig, params: Mapping[str, Any], settings: SparkSettings, *,
                   clusters: np.ndarray | None = None, refit: bool = True) -> TrainResult:
    """Fit `params` with Spark on train, then train + validation, then (with `refit`) all the data;
    score them and every baseline as `recommender.training.train` does."""
    from recommender.data.export import PARTS, ExportSettings, ensure_export
    from recommender.engines.master import parse_master
    from recommender.engines.spark import fit_als, spark_session
    from recommender.evaluation.evaluator import EvalSet, evaluate
    from recommender.evaluation.tuning import Candidate, SearchConfig
    from recommender.models.als import blas_single_thread
    from recommender.training import TrainResult, baseline_rows, best_candidates, context_for, test_candidates

    master = parse_master(settings.master or DEFAULT_MASTER)
    params = dict(params)
    started = time.perf_counter()
    context = context_for(data, config, SearchConfig(families=("als",), seconds=None, trials=1), clusters=clusters)
    split = {"method": config.split, **config.split_args()}
    manifest, written = ensure_export(settings.export, data, context.split, ExportSettings(params["transform"], split))
    exported = time.perf_counter()
    with spark_session(master) as session:
        opened = time.perf_counter()
        model = fit_als(session, settings.export, manifest, PARTS[:1], params, seed=config.seed)
        with blas_single_thread():
            figures = evaluate(model, context.eval_set, config.k)
        rows = [{"trial": 0, "family": "als", **params, **figures, "fit_seconds": model.fit_seconds, "state": "spark"},
                *baseline_rows(context, config, clusters)]
        candidates = best_candidates(rows, config.k)
        searched = time.perf_counter()
        test = test_candidates(context, {f: c for f, c in candidates.items() if f != "als"}, config, clusters)
        developed = fit_als(session, settings.export, manifest, PARTS[:2], params, seed=config.seed)
        with blas_single_thread():
            test_set = EvalSet(context.split.development, context.split.test, config.eval_users, config.seed)
            test["als"] = evaluate(developed, test_set, config.k, auc=True)
        tested = time.perf_counter()
        final = fit_als(session, settings.export, manifest, PARTS, params, seed=config.seed) if refit else None
    kept: Candidate = candidates["als"]
    families = {name: {"params": c.params, "weights": c.weights, "validation": c.validation, "test": test[name]}
                for name, c in candidates.items()}
    others = [c.validation[config.primary] for name, c in candidates.items() if name != "als"]
    margin = kept.validation[config.primary] / max(others) - 1.0 if others and max(others) > 0 else None
    timings = {"export_seconds": exported - started, "session_seconds": opened - exported,
               "search_seconds": searched - opened, "test_seconds": tested - searched,
               "refit_seconds": time.perf_counter() - tested}
    summary = {"mode": "spark", "engine": "spark", "master": master.url, "trials": 1, "pruned": 0,
               "configurations": 1, "seed": config.seed, "export": str(settings.export), "export_written": written}
    return TrainResult("als", kept.params, None, rows, kept.validation, test, families, final, timings, summary, margin)


def train_on_spark_and_save(data: Interactions, config: TrainConfig, search: SearchConfig, settings: SparkSettings,
                            model_dir: Path | None, *, weights: EventWeights, source: dict[str, Any] | None = None,
                            filters: Mapping[str, int] | None = None, clusters: np.ndarray | None = None,
                            titles: Mapping[str, str] | None = None) -> tuple[ModelCard | None, TrainResult | None]:
    """`check_spark`, `train_on_spark` on the configuration of `search.grid`, then the model saved
    under `model_dir` with its card and results (None: evaluate only, save nothing). Returns
    (card, result) as `recommender.training.train_and_save` does."""
    from recommender.registry import check_writable
    from recommender.reports import write_results_csv
    from recommender.training import card_of, save_result

    params = check_spark(settings, search)
    if model_dir is not None:
        check_writable(model_dir)
    result = train_on_spark(data, config, params, settings, clusters=clusters, refit=model_dir is not None)
    if model_dir is None:
        return None, result
    card = card_of(result, data, config, weights, source or {"kind": "unknown"}, filters)
    with tempfile.TemporaryDirectory() as scratch:
        files = {"results.csv": write_results_csv(result.rows, config.k, Path(scratch) / "results.csv")}
        saved = save_result(model_dir, result, data, card, files, titles)
    return saved, result
