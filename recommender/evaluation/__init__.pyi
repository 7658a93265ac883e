"""Typed, lazily loaded exports: lazy_loader reads this stub at import time, mypy and editors too."""

from .evaluator import EvalSet, evaluate
from .grid import DEFAULT_GRID, PARAMS, Grid, load_grid
from .metrics import METRIC_NAMES, METRICS, PRIMARY_METRIC, Metric, auc_per_user, metric_key, ranking_per_user
from .spaces import SEARCHABLE
from .study import Worker, open_study
from .tuning import (
    CHECKPOINTS,
    Candidate,
    SearchConfig,
    SearchContext,
    fit_candidate,
    rows_of,
    run_search,
    sampler_and_pruner,
)

__all__ = [
    "CHECKPOINTS",
    "DEFAULT_GRID",
    "METRICS",
    "METRIC_NAMES",
    "PARAMS",
    "PRIMARY_METRIC",
    "SEARCHABLE",
    "Candidate",
    "EvalSet",
    "Grid",
    "Metric",
    "SearchConfig",
    "SearchContext",
    "Worker",
    "auc_per_user",
    "evaluate",
    "fit_candidate",
    "load_grid",
    "metric_key",
    "open_study",
    "ranking_per_user",
    "rows_of",
    "run_search",
    "sampler_and_pruner",
]
