"""Searches on validation, with Optuna: a budgeted one (TPE over every family's parameters,
Hyperband pruning at ALS's iteration checkpoints) or the exhaustive grid (ALS only, optionally
pruned by successive halving). Both record every configuration they score as rows.

ALS costs nothing extra per iteration count: a trial fits once and is scored at each checkpoint on
the way; each checkpoint is a configuration of its own (a row), and reports to the pruner. A
budgeted search stops starting trials when its time is spent, and a trial still running is
pruned at its next checkpoint. With one worker, the same seed and a trial count (`trials`), a
search is the same on any machine; with a time budget, the same as long as as many trials finish.

Every row lives in its trial's user attributes, so workers sharing a study (`storage`) all see
all of them: the finishing worker ranks the rows of every worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from recommender.errors import RecommenderError
from recommender.evaluation.grid import PARAMS, Grid
from recommender.evaluation.spaces import SEARCHABLE, model_params, starting_points, suggest

if TYPE_CHECKING:
    import optuna
    from scipy.sparse import csr_matrix

    from recommender.data.interactions import Interactions
    from recommender.data.splits import Split
    from recommender.evaluation.evaluator import EvalSet
    from recommender.models.base import Model

__all__ = ["CHECKPOINTS", "Candidate", "SearchConfig", "SearchContext", "als_fit_bytes", "available_memory",
           "check_als_memory", "fit_candidate", "rows_of", "run_search", "sampler_and_pruner"]

CHECKPOINTS = (2, 5, 10, 20, 35, 50, 75, 100)
"""The iteration counts at which a budgeted ALS trial is scored (up to its own count)."""


@dataclass(frozen=True)
class SearchConfig:
    """What to search and for how long."""

    families: tuple[str, ...] = SEARCHABLE
    seconds: float | None = 120.0
    trials: int | None = None
    grid: Grid | None = None
    """An exhaustive grid of ALS configurations instead of the budgeted search."""
    prune: bool = True
    tune_weights: bool = False
    storage: str | None = None
    study: str | None = None
    workers: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.seconds is not None and not self.seconds > 0:
            raise RecommenderError(f"the budget must be a positive number of seconds, not {self.seconds}")
        if self.trials is not None and self.trials < 1:
            raise RecommenderError(f"the number of trials must be at least 1, not {self.trials}")
        unknown = [f for f in self.families if f not in SEARCHABLE]
        if unknown or not self.families:
            raise RecommenderError(f"unknown model family {unknown[0] if unknown else ''!r} to search; "
                                   f"use some of {', '.join(SEARCHABLE)}")


@dataclass(frozen=True)
class Candidate:
    """One configuration of a family: its parameters (confidence and model), event weights (None:
    the data's own), and validation figures."""

    family: str
    params: dict[str, Any]
    weights: dict[str, float] | None
    validation: dict[str, float]
    fit_seconds: float = 0.0


@dataclass
class SearchContext:
    """The data a search scores on: the train matrix for any weights and confidence (cached), the
    validation set, and the deadline."""

    data: Interactions
    split: Split
    eval_set: EvalSet
    k: int
    split_args: Callable[[], tuple[str, dict[str, Any]]]
    deadline: float = float("inf")
    threads: int = 0
    """Threads of each ALS fit (0: every core)."""
    _cache: dict[tuple[Any, ...], csr_matrix] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def matrix(self, part: str, params: Mapping[str, Any], weights: Mapping[str, float] | None) -> csr_matrix:
        """The `part` ("train", "development" or "all") matrix, weighted and transformed for `params`."""
        from recommender.data.events import apply_confidence
        from recommender.data.splits import make_split

        key = (part, params.get("transform", "linear"), bool(params.get("bm25", False)),
               tuple(sorted((weights or {}).items())))
        with self._lock:
            if key not in self._cache:
                split = self.split
                if weights is not None and part != "all":
                    method, args = self.split_args()
                    split = make_split(replace(self.data, matrix=self.data.reweighted(weights)), method, **args)
                base = {"train": lambda: split.train, "development": lambda: split.development,
                        "all": lambda: self.data.reweighted(weights) if weights else self.data.matrix}[part]()
                if len(self._cache) > 16:
                    self._cache.clear()
                self._cache[key] = apply_confidence(base, key[1], key[2])
            return self._cache[key]


def als_fit_bytes(shape: tuple[int, int], nnz: int, factors: int) -> int:
    """About what one of implicit's ALS fits allocates: the user and item factors (twice: drawn,
    then scaled), the factors x factors normal equations (three times: YtY, the regularised copy
    and its sum), the confidence matrix scaled by alpha and its transpose, and a batch of scores."""
    users, items = shape
    return 4 * (2 * (users + items) * factors + 3 * factors * factors) + 2 * (8 * nnz + 8 * (users + items)) \
        + (1 << 25)


def available_memory() -> int | None:
    """Bytes of memory this process can still take (MemAvailable, else the free pages, and the
    cgroup's limit when there is one); None if the system does not say."""
    import os
    from pathlib import Path

    found = []
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii")
        found += [int(line.split()[1]) * 1024 for line in meminfo.splitlines() if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            pass
    try:
        limit, used = (Path("/sys/fs/cgroup", name).read_text(encoding="ascii").strip()
                       for name in ("memory.max", "memory.current"))
        if limit != "max":
            found.append(int(limit) - int(used))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def check_als_memory(shape: tuple[int, int], nnz: int, factors: int, at_once: int = 1) -> None:
    """RecommenderError, before any fit, if `at_once` ALS fits of `factors` on a matrix of `shape`
    would not fit in the memory available."""
    each, available = als_fit_bytes(shape, nnz, factors), available_memory()
    if available is not None and each * at_once > available:
        many = (f" a fit, {at_once} at once", " or --workers") if at_once > 1 else ("", "")
        raise RecommenderError(f"ALS with {factors:,} factors on {shape[0]:,} users x {shape[1]:,} items needs about "
                               f"{_gib(each)}{many[0]}, but {_gib(available)} is available: use fewer "
                               f"--factors{many[1]}")


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def fit_candidate(candidate: Candidate, matrix: csr_matrix, *, seed: int = 0, labels: Any = None, threads: int = 0,
                  on_checkpoint: Callable[..., None] | None = None, checkpoints: tuple[int, ...] = ()) -> Model:
    """The candidate's model fitted on `matrix` (already weighted and transformed); `labels` are
    cluster popularity's clusters, `threads` ALS's. An ALS fit that would not fit in memory, or
    runs out of it, is a RecommenderError."""
    from recommender.models.als import ALS
    from recommender.models.factory import make_model

    params = model_params(candidate.params)
    if candidate.family == "als":
        check_als_memory(matrix.shape, matrix.nnz, params["factors"])
        try:
            return ALS.from_params(params, seed=seed, num_threads=threads).fit(
                matrix, checkpoints=checkpoints, on_checkpoint=on_checkpoint)
        except MemoryError:
            users, items = matrix.shape
            raise RecommenderError(f"out of memory fitting ALS with {params['factors']:,} factors on {users:,} "
                                   f"users x {items:,} items: use fewer --factors") from None
    extra = {"seed": seed} if candidate.family == "random" else {"labels": labels} \
        if candidate.family == "cluster_popularity" else {}
    return make_model(candidate.family, **params, **extra).fit(matrix)


def _trial_rows(trial: optuna.Trial, context: SearchContext, family: str, params: dict[str, Any],
                weights: dict[str, float] | None, checkpoints: tuple[int, ...], prune: bool) -> float:
    """Fit one configuration, score it (at every checkpoint for ALS), record the rows."""
    import optuna

    from recommender.evaluation.evaluator import evaluate
    from recommender.evaluation.metrics import PRIMARY_METRIC, metric_key

    key = metric_key(PRIMARY_METRIC, context.k)
    rows: list[dict[str, Any]] = []
    shown = {f"w.{k}": v for k, v in (weights or {}).items()}

    def record(model: Model, seconds: float, iterations: int | None = None) -> float:
        figures = evaluate(model, context.eval_set, context.k)
        config = {**params, **({"iterations": iterations} if iterations else {})}
        rows.append({"trial": trial.number, "family": family, **config, **shown, **figures, "fit_seconds": seconds})
        trial.set_user_attr("rows", rows)
        return figures[key]

    def checkpoint(n: int, model: Model, seconds: float) -> None:
        value = record(model, seconds, n)
        trial.report(value, n)
        if (prune and trial.should_prune()) or time.monotonic() > context.deadline:
            raise optuna.TrialPruned(f"pruned at {n} iterations")

    matrix = context.matrix("train", params, weights)
    candidate = Candidate(family, params, weights, {})
    if family == "als":
        wanted = tuple(sorted({n for n in checkpoints if n < params["iterations"]} | {params["iterations"]}))
        fit_candidate(candidate, matrix, threads=context.threads, on_checkpoint=checkpoint, checkpoints=wanted)
    else:
        started = time.perf_counter()
        model = fit_candidate(candidate, matrix)
        record(model, time.perf_counter() - started)
    return max(r[key] for r in rows)


def _objective(context: SearchContext, config: SearchConfig) -> Callable[[optuna.Trial], float]:
    kinds = context.data.kinds if config.tune_weights else ()

    def budgeted(trial: optuna.Trial) -> float:
        import optuna

        family = trial.suggest_categorical("family", list(config.families)) \
            if len(config.families) > 1 else config.families[0]
        params, weights = suggest(trial, family, kinds)
        if time.monotonic() > context.deadline:
            raise optuna.TrialPruned("the budget is spent")
        if not trial.params.keys() - {"family"} and _tried(trial, family):
            raise optuna.TrialPruned(f"{family} has no parameters and was scored already")
        return _trial_rows(trial, context, family, params, weights, CHECKPOINTS, True)

    def exhaustive(trial: optuna.Trial) -> float:
        assert config.grid is not None
        params = {axis: trial.suggest_categorical(axis, list(getattr(config.grid, axis)))
                  for axis in PARAMS if axis != "iterations"}
        params["iterations"] = max(config.grid.iterations)
        return _trial_rows(trial, context, "als", params, None, config.grid.iterations, config.prune)

    return exhaustive if config.grid is not None else budgeted


def _tried(trial: optuna.Trial, family: str) -> bool:
    """Whether another trial of the study already scored `family` (one without parameters)."""
    import optuna

    return any(t.number != trial.number and t.state == optuna.trial.TrialState.COMPLETE
               and t.params.get("family") == family for t in trial.study.get_trials(deepcopy=False))


def sampler_and_pruner(config: SearchConfig) -> tuple[Any, Any]:
    """The sampler (TPE, or the grid's) and pruner (Hyperband, successive halving or none)."""
    import warnings

    import optuna

    if config.grid is not None:
        space = {axis: list(getattr(config.grid, axis)) for axis in PARAMS if axis != "iterations"}
        pruner = optuna.pruners.SuccessiveHalvingPruner() if config.prune else optuna.pruners.NopPruner()
        return optuna.samplers.GridSampler(space, seed=config.seed), pruner
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=config.seed, multivariate=True, group=True,
                                             n_startup_trials=5, constant_liar=True)
    return sampler, optuna.pruners.HyperbandPruner(min_resource=2, max_resource=100, reduction_factor=3)


def rows_of(study: optuna.Study) -> list[dict[str, Any]]:
    """Every configuration scored by every worker of the study, trial by trial, with its state."""
    import optuna

    out = []
    for trial in study.get_trials(deepcopy=False):
        if trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED):
            out += [{**row, "state": trial.state.name.lower()} for row in trial.user_attrs.get("rows", [])]
    return out


def run_search(context: SearchContext, config: SearchConfig, study: optuna.Study,
               on_trial: Callable[[optuna.Study, Any], None] | None = None) -> list[dict[str, Any]]:
    """Run this worker's trials of `study` within the budget; returns every row of the study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if config.grid is None and not study.get_trials(deepcopy=False):
        kinds = context.data.kinds if config.tune_weights else ()
        for point in starting_points(config.families, kinds):
            study.enqueue_trial(point, skip_if_exists=True)
    if config.seconds is not None:
        context.deadline = time.monotonic() + config.seconds
    trials = config.trials
    if config.grid is not None:
        fits = len(config.grid.fits())
        check_als_memory(context.data.shape, context.data.nnz, max(config.grid.factors),
                         min(max(1, config.workers), fits))
        trials = fits if trials is None else trials
    study.optimize(_objective(context, config), n_trials=trials, timeout=config.seconds,
                   n_jobs=max(1, config.workers), callbacks=[on_trial] if on_trial else None)
    return rows_of(study)
