"""ALS recommendations from implicit feedback (Kitsu libraries and favourites, or any CSV/Parquet).

The package import stays light (`recommend --help` must be fast): the public names below are
loaded on first use from their modules.

    recommender.events      status/favourite weights -> strengths; confidence transforms
    recommender.data        Interactions (CSR + id maps) from the store or a file
    recommender.split       seeded holdout, leave-k-out and temporal splits
    recommender.metrics     precision/recall/MAP/NDCG@K, AUC (standard definitions)
    recommender.evaluation  a scorer evaluated on held-out items
    recommender.baselines   popularity, item-kNN, random (and the ALS factor scorer)
    recommender.als         implicit ALS with BLAS pinned and iteration checkpoints
    recommender.grid        the grid and its search
    recommender.train       the pipeline: search on validation, test vs baselines, refit
    recommender.registry    saved models (versions, `latest`), loading for serving
    recommender.report      results CSV, top table, heatmap
"""

from __future__ import annotations

import importlib
from typing import Any

from kitsu_ingest import __version__

_EXPORTS = {
    "RecommenderError": "errors", "DataError": "errors", "ConfigFileError": "errors",
    "ModelNotFoundError": "errors",
    "DEFAULT_WEIGHTS": "events", "EventWeights": "events", "apply_confidence": "events",
    "event_strengths": "events", "load_weights": "events",
    "FileSpec": "data", "Interactions": "data", "from_frame": "data", "load_file": "data",
    "load_source": "data", "load_store": "data",
    "Split": "split", "holdout": "split", "leave_k_out": "split", "make_split": "split",
    "temporal": "split",
    "auc_per_user": "metrics", "ranking_per_user": "metrics", "top_k": "metrics",
    "EvalSet": "evaluation", "evaluate": "evaluation",
    "FactorScorer": "baselines", "ItemKNNScorer": "baselines", "PopularityScorer": "baselines",
    "RandomScorer": "baselines", "make_baseline": "baselines",
    "blas_single_thread": "als", "fit_als": "als", "make_als": "als",
    "DEFAULT_GRID": "grid", "Grid": "grid", "load_grid": "grid", "search": "grid",
    "TrainConfig": "train", "TrainResult": "train",
    "SavedModel": "registry", "list_models": "registry", "load_model": "registry",
    "save_model": "registry",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'recommender' has no attribute {name!r}")
    return getattr(importlib.import_module(f"recommender.{module}"), name)
