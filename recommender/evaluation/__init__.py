"""Evaluation: metrics, a model evaluated on held-out items, the grid and its search.

    metrics      precision/recall/MAP/NDCG@K, AUC; the metric registry and the primary metric
    evaluator    a model evaluated on held-out items (EvalSet, evaluate)
    grid         the hyperparameter grid (axes = PARAMS), from defaults, TOML or options
    spaces       what a search may try: each family's ranges, confidences, weights, starting points
    tuning       the budgeted (TPE, Hyperband) and grid searches on validation (Optuna)
    study        a search's study, in memory or shared by workers through a database
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
