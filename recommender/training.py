"""The training pipeline: split, search on validation, test every family, refit the best, save.

Every family searched and every baseline (popularity, item-kNN, random, and cluster popularity
when the store has clusters) is scored on validation; the best of them on validation is the
model kept, so a baseline that wins is the one served (with `prefer_cheaper`, the cheapest to
serve within noise of it: `recommender.evaluation.uncertainty`). The figures reported are the
test set's, for each family's best configuration refitted on train + validation, with bootstrap
intervals over users; the model kept is refitted on all the data. Event weights learnt by the
search (`tune_weights`) are part of a configuration.

    card, result = train_and_save(data, TrainConfig(), SearchConfig(seconds=60), model_dir, weights=weights)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import DataError
from recommender.evaluation.metrics import PRIMARY_METRIC, metric_key
from recommender.evaluation.spaces import DEFAULTS
from recommender.evaluation.tuning import Candidate, SearchConfig
from recommender.models.factory import BASELINES
from recommender.protocol import TrainConfig

if TYPE_CHECKING:
    import numpy as np

    from recommender.data.events import EventWeights
    from recommender.data.interactions import Interactions
    from recommender.data.splits import Split
    from recommender.evaluation.evaluator import Evaluation
    from recommender.evaluation.tuning import SearchContext
    from recommender.models.base import Model
    from recommender.registry import ModelCard

__all__ = ["TrainResult", "baseline_rows", "best_candidates", "card_of", "context_for", "identity",
           "reproduce", "save_result", "test_candidates", "train", "train_and_save"]


@dataclass
class TrainResult:
    """What a training run found: every configuration scored, each family's best, the winner."""

    family: str
    params: dict[str, Any]
    weights: dict[str, float] | None
    rows: list[dict[str, Any]]
    validation: dict[str, float]
    test: dict[str, dict[str, float]]
    families: dict[str, dict[str, Any]]
    model: Model | None = None
    timings: dict[str, float] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)
    margin: float | None = None
    """How far the winner's validation figure is above the runner-up family's (relative)."""
    intervals: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    """{"validation" | "test": {family: {metric: [low, high]}}}: 95% bootstrap intervals over users."""
    margin_test: dict[str, Any] | None = None
    """The paired test of the winner's margin over the runner-up (`uncertainty.margin_test`)."""


def best_candidates(rows: Sequence[Mapping[str, Any]], k: int) -> dict[str, Candidate]:
    """Each family's best row on validation (ties: the faster fit), as a candidate."""
    from recommender.evaluation.metrics import METRICS

    key = metric_key(PRIMARY_METRIC, k)
    figures = [*(metric_key(m, k) for m in METRICS), "users"]
    best: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        family = str(row["family"])
        if family not in best or (row[key], -row["fit_seconds"]) > (best[family][key], -best[family]["fit_seconds"]):
            best[family] = row
    out = {}
    for family, row in best.items():
        weights = {k2[2:]: float(v) for k2, v in row.items() if k2.startswith("w.")} or None
        params = {k2: v for k2, v in row.items() if k2 not in figures and k2 not in
                  ("trial", "family", "state", "fit_seconds") and not k2.startswith("w.") and v == v}
        out[family] = Candidate(family, params, weights, {m: float(row[m]) for m in figures if m in row},
                                float(row["fit_seconds"]))
    return out


def _baselines(context: SearchContext, config: TrainConfig, searched: set[str], clusters: Any) -> list[
        dict[str, Any]]:
    """Rows of the baselines the search did not tune, scored on validation."""
    from recommender.evaluation.evaluator import evaluate
    from recommender.evaluation.tuning import fit_candidate

    names = [b for b in config.baselines if b not in searched]
    if clusters is not None:
        names.append("cluster_popularity")
    rows = []
    for name in names:
        params = DEFAULTS[name]
        started = time.perf_counter()
        model = fit_candidate(Candidate(name, params, None, {}), context.matrix("train", params, None),
                              seed=config.seed, labels=clusters)
        seconds = time.perf_counter() - started
        rows.append({"trial": None, "family": name, **params, **evaluate(model, context.eval_set, config.k),
                     "fit_seconds": seconds, "state": "baseline"})
    return rows


def baseline_rows(context: SearchContext, config: TrainConfig, clusters: Any = None) -> list[dict[str, Any]]:
    """Every baseline's row (cluster popularity's too, with `clusters`), scored on validation: what
    an engine that fits one configuration instead of searching (`recommender.engines`) compares with."""
    return _baselines(context, config, set(), clusters)


def test_candidates(context: SearchContext, candidates: Mapping[str, Candidate], config: TrainConfig,
                    clusters: Any = None) -> dict[str, dict[str, float]]:
    """Each candidate refitted on train + validation and scored on the test set."""
    return {family: tested[0].figures for family, tested in _tested(context, candidates, config, clusters).items()}


def _tested(context: SearchContext, candidates: Mapping[str, Candidate], config: TrainConfig,
            clusters: Any = None) -> dict[str, tuple[Evaluation, int]]:
    """`test_candidates` with each family's per-user values (on the same users) and model bytes."""
    from recommender.evaluation.evaluator import EvalSet, evaluate_users
    from recommender.evaluation.tuning import fit_candidate
    from recommender.evaluation.uncertainty import model_bytes
    from recommender.models.als import blas_single_thread

    eval_set = EvalSet(context.split.development, context.split.test, config.eval_users, config.seed)
    out = {}
    for family, candidate in candidates.items():
        matrix = context.matrix("development", candidate.params, candidate.weights)
        model = fit_candidate(candidate, matrix, seed=config.seed, labels=clusters)
        with blas_single_thread():
            out[family] = (evaluate_users(model, eval_set, config.k, auc=True), model_bytes(model))
    return out


def _validation_users(context: SearchContext, candidates: Mapping[str, Candidate], config: TrainConfig,
                      clusters: Any = None) -> dict[str, dict[str, np.ndarray]]:
    """Each candidate's per-user validation values: those the search's EvalSet remembered, else
    (a configuration another worker scored) those of the candidate fitted on train again."""
    from recommender.evaluation.evaluator import evaluate_users
    from recommender.evaluation.tuning import fit_candidate

    out = {}
    for family, candidate in candidates.items():
        evaluation = context.eval_set.best_of(family, candidate.validation)
        if evaluation is None:
            model = fit_candidate(candidate, context.matrix("train", candidate.params, candidate.weights),
                                  seed=config.seed, labels=clusters, threads=context.threads)
            evaluation = evaluate_users(model, context.eval_set, config.k)
        out[family] = evaluation.per_user
    return out


def _weigh(context: SearchContext, candidates: Mapping[str, Candidate], best: str,
           tests: Mapping[str, tuple[Evaluation, int]], config: TrainConfig, clusters: Any = None,
           prefer_cheaper: bool = False) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """The family kept (`best`, or with `prefer_cheaper` the cheapest within noise of it), every
    figure's interval and the paired test of the kept family's margin (`evaluation.uncertainty`)."""
    from recommender.evaluation.uncertainty import choose, margin_test, resample

    validation = resample(_validation_users(context, candidates, config, clusters), config.seed)
    test = resample({family: evaluation.per_user for family, (evaluation, _) in tests.items()}, config.seed)
    cost = {family: size for family, (_, size) in tests.items()}
    choice = choose(best, validation, config.primary, cost, prefer_cheaper=prefer_cheaper)
    figures = {family: candidate.validation[config.primary] for family, candidate in candidates.items()}
    tested = margin_test(choice, figures, validation, test, config.primary, cost)
    intervals = {"validation": validation.intervals(), "test": test.intervals()}
    return choice.kept, intervals, tested


def identity(data: Interactions, config: TrainConfig, search: SearchConfig) -> dict[str, Any]:
    """What a shared study searches: workers must agree on all of it."""
    from dataclasses import asdict

    return {"data": data.fingerprint(), "metric": config.primary,
            "split": [config.split, *config.split_args().values()], "families": list(search.families),
            "grid": asdict(search.grid) if search.grid is not None else None, "weights": search.tune_weights}


def context_for(data: Interactions, config: TrainConfig, search: SearchConfig, split: Split | None = None,
                clusters: Any = None) -> SearchContext:
    """The split and validation set a search and its tests run on."""
    import os

    from recommender.data.splits import make_split
    from recommender.evaluation.evaluator import EvalSet
    from recommender.evaluation.tuning import SearchContext

    if search.tune_weights and data.event_counts is None:
        raise DataError("learning event weights needs statuses or favourites: train on the store, "
                        "or give a --status-col")
    split = split or make_split(data, config.split, **config.split_args())
    if split.validation.nnz == 0:
        raise DataError("too little data to split: nothing left for validation")
    cores = os.cpu_count() or 1
    return SearchContext(data, split, EvalSet(split.train, split.validation, config.eval_users, config.seed), config.k,
                         lambda: (config.split, config.split_args()),
                         threads=max(1, cores // max(1, search.workers)))


def train(data: Interactions, config: TrainConfig | None = None, search: SearchConfig | None = None, *,
          clusters: np.ndarray | None = None, refit: bool = True, study: Any = None,
          on_trial: Callable[..., None] | None = None, prefer_cheaper: bool = False) -> TrainResult | None:
    """Search on a validation split of `data`, test every family's best, refit the best on all.

    `clusters` (one label per user row) adds the cluster-popularity baseline; `study` is an
    Optuna study to search in (default: a new one in memory); `prefer_cheaper` keeps the cheapest
    family to serve within noise of the best on validation instead of the best. A worker of a shared study
    (`search.storage`) returns None unless it is the one to finish the study (the last one done).
    """
    from recommender.evaluation.study import Worker, open_study
    from recommender.evaluation.tuning import fit_candidate, rows_of, run_search

    config, search = config or TrainConfig(), search or SearchConfig()
    unknown = [b for b in config.baselines if b not in BASELINES]
    if unknown:
        raise DataError(f"unknown baseline {unknown[0]!r}; use {', '.join(BASELINES)}")
    started = time.perf_counter()
    context = context_for(data, config, search, clusters=clusters)
    split = time.perf_counter()
    study = study or open_study(search, identity(data, config, search))
    with Worker(study, search.storage) as worker:
        run_search(context, search, study, on_trial)
        saves = worker.claim_save()  # holding the life lock, so no one takes this worker for dead
    if not saves:
        return None
    rows = rows_of(study)  # every worker's, now that all are done
    # A baseline the budget ran out before is still scored (at the whole site's scale the first
    # ALS trial can take the whole budget): the model kept never loses to one it did not meet.
    tried = {row["family"] for row in rows if config.primary in row} if search.grid is None else {"als"}
    rows += _baselines(context, config, tried, clusters)
    searched = time.perf_counter()
    candidates = best_candidates(rows, config.k)
    winner = max(candidates.values(), key=lambda c: (c.validation[config.primary], -c.fit_seconds))
    tests = _tested(context, candidates, config, clusters)
    test = {family: evaluation.figures for family, (evaluation, _) in tests.items()}
    tested = time.perf_counter()
    kept, intervals, tested_margin = _weigh(context, candidates, winner.family, tests, config, clusters, prefer_cheaper)
    winner = candidates[kept]
    weighed = time.perf_counter()
    model = None
    if refit:
        model = fit_candidate(winner, context.matrix("all", winner.params, winner.weights),
                              seed=config.seed, labels=clusters)
    families = {name: {"params": c.params, "weights": c.weights, "validation": c.validation, "test": test[name]}
                for name, c in candidates.items()}
    others = [c.validation[config.primary] for name, c in candidates.items() if name != winner.family]
    margin = winner.validation[config.primary] / max(others) - 1.0 if others and max(others) > 0 else None
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    summary = {"mode": "grid" if search.grid is not None else "budget",
               "trials": states.count("COMPLETE") + states.count("PRUNED"), "pruned": states.count("PRUNED"),
               "configurations": sum(1 for r in rows if r.get("trial") is not None),
               "seed": search.seed, "study": study.study_name, "workers": search.workers,
               "budget_seconds": search.seconds, "tune_weights": search.tune_weights}
    timings = {"split_seconds": split - started, "search_seconds": searched - split, "test_seconds": tested - searched,
               "uncertainty_seconds": weighed - tested, "refit_seconds": time.perf_counter() - weighed}
    return TrainResult(winner.family, winner.params, winner.weights, rows, winner.validation, test, families,
                       model, timings, summary, margin, intervals, tested_margin)


def reproduce(card: ModelCard, data: Interactions, clusters: Any = None) -> dict[str, dict[str, float]]:
    """A saved model's test figures again: each family of its card (an older card: its model and
    the baselines) refitted on train + validation of the same split and scored on the test set."""
    search = SearchConfig(tune_weights=any(f.get("weights") for f in card.families.values()))
    context = context_for(data, card.config, search, clusters=clusters)
    families = card.families or {card.family: {"params": card.params},
                                 **{b: {"params": DEFAULTS[b]} for b in card.config.baselines}}
    candidates = {name: Candidate(name, dict(f["params"]), f.get("weights"), {}) for name, f in families.items()}
    candidates.pop("cluster_popularity", None)
    if clusters is not None:
        candidates["cluster_popularity"] = Candidate("cluster_popularity", DEFAULTS["cluster_popularity"], None, {})
    return test_candidates(context, candidates, card.config, clusters)


def card_of(result: TrainResult, data: Interactions, config: TrainConfig, weights: EventWeights,
            source: dict[str, Any], filters: Mapping[str, int] | None = None) -> ModelCard:
    """The model card of a training run (version and time are set when it is saved)."""
    from recommender.data.events import EventWeights as Weights
    from recommender.registry import ModelCard

    learnt = Weights.from_dict(result.weights) if result.weights else weights
    return ModelCard(family=result.family, params=result.params, weights=learnt, config=config,
                     validation=result.validation, test=result.test, fingerprint=data.fingerprint(),
                     shape=data.shape, nnz=data.nnz, source=source, filters=dict(filters or {}),
                     timings=result.timings, families=result.families, search=result.search,
                     margin=result.margin, intervals=result.intervals, margin_test=result.margin_test)


def train_and_save(data: Interactions, config: TrainConfig, search: SearchConfig, model_dir: Path, *,
                   weights: EventWeights, source: dict[str, Any] | None = None,
                   filters: Mapping[str, int] | None = None, clusters: np.ndarray | None = None,
                   study: Any = None, on_trial: Callable[..., None] | None = None,
                   titles: Mapping[str, str] | None = None, prefer_cheaper: bool = False) -> tuple[
                       ModelCard | None, TrainResult | None]:
    """Train (`train`) and save the refitted model with its card, results and plots under
    `model_dir` (`save_result`; `titles`: a file's item names); returns the saved card (with its
    version) and the training result, or (None, None) for a worker of a shared study that leaves
    the saving to another."""
    import tempfile

    from recommender.registry import check_writable
    from recommender.reports import write_reports

    check_writable(model_dir)
    result = train(data, config, search, clusters=clusters, study=study, on_trial=on_trial,
                   prefer_cheaper=prefer_cheaper)
    if result is None:
        return None, None
    card = card_of(result, data, config, weights, source or {"kind": "unknown"}, filters)
    with tempfile.TemporaryDirectory() as scratch:
        files = write_reports(result.rows, config.k, Path(scratch))
        saved = save_result(model_dir, result, data, card, files, titles)
    return saved, result


def save_result(model_dir: Path, result: TrainResult, data: Interactions, card: ModelCard,
                files: Mapping[str, Path], titles: Mapping[str, str] | None = None) -> ModelCard:
    """Save `result`'s refitted model with its card and report files, once it has answered a
    sample of users through the serving path (`check_serves`); a model trained on a file carries
    its training rows and item names (`TrainingHistory`), so that it is served with no store."""
    import functools

    from recommender.data.history import TrainingHistory
    from recommender.registry import save_model
    from recommender.serving.check import check_serves

    assert result.model is not None
    history = TrainingHistory(data.matrix, dict(titles or {}))
    return save_model(model_dir, result.model, data.user_ids, data.item_ids, card, dict(files),
                      history=history if card.source.get("kind") != "store" else None,
                      verify=functools.partial(check_serves, history=history))
