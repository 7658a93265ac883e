"""Evaluation: metrics, a model evaluated on held-out items, the grid and its search.

    metrics      precision/recall/MAP/NDCG@K, AUC; the metric registry and the primary metric
    evaluator    a model evaluated on held-out items (EvalSet, evaluate)
    grid         the hyperparameter grid (axes = PARAMS), from defaults, TOML or options
    spaces       what a search may try: each family's ranges, confidences, weights, starting points
    tuning       the budgeted (TPE, Hyperband) and grid searches on validation (Optuna)
    study        a search's study, in memory or shared by workers through a database
"""

from kitsu_ingest.lazy import lazy_exports

_EXPORTS = {
    "METRICS": "metrics", "METRIC_NAMES": "metrics", "PRIMARY_METRIC": "metrics", "Metric": "metrics",
    "auc_per_user": "metrics", "metric_key": "metrics", "ranking_per_user": "metrics",
    "EvalSet": "evaluator", "evaluate": "evaluator",
    "DEFAULT_GRID": "grid", "PARAMS": "grid", "Grid": "grid", "grid_dict": "grid", "load_grid": "grid",
    "params_of": "grid",
    "SEARCHABLE": "spaces", "CHECKPOINTS": "tuning", "Candidate": "tuning", "SearchConfig": "tuning",
    "SearchContext": "tuning", "fit_candidate": "tuning", "rows_of": "tuning", "run_search": "tuning",
    "sampler_and_pruner": "tuning", "Worker": "study", "open_study": "study",
}

__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
