"""Recommendations from implicit feedback (Kitsu libraries and favourites, or any CSV/Parquet).

The package import stays light (`recommend --help` must be fast): the public names below are
loaded on first use from their modules. The house, by concern:

    recommender.data        interactions from the store or a file; event strengths; splits
    recommender.models      one model interface (ALS, popularity, item-kNN, random, cluster
                            popularity) and a factory by name
    recommender.ranking     the one top-N kernel
    recommender.evaluation  metrics, a model evaluated on held-out items, the grid and its search
    recommender.training    the pipeline: search on validation, test against baselines, refit, save
    recommender.registry    saved models and their typed, versioned model cards
    recommender.reports     the results CSV and heatmap saved beside a model
    recommender.serving     top N, similar, fold-in, explain, batch, HTTP, live fetch
    recommender.cli         the `recommend` command: options, tables, progress; nothing else
"""

from __future__ import annotations

from kitsu_ingest import __version__
from kitsu_ingest.lazy import lazy_exports

_EXPORTS = {
    "RecommenderError": "errors", "DataError": "errors", "ConfigFileError": "errors",
    "ModelNotFoundError": "errors",
    "EventWeights": "data.events", "load_weights": "data.events",
    "FileSpec": "data.files", "Interactions": "data.interactions", "StoreReader": "data.store",
    "load_interactions": "data.sources", "make_split": "data.splits", "Split": "data.splits",
    "Model": "models.base", "make_model": "models.factory",
    "Grid": "evaluation.grid", "load_grid": "evaluation.grid", "evaluate": "evaluation.evaluator",
    "TrainConfig": "protocol", "TrainResult": "training", "train": "training", "train_and_save": "training",
    "ModelCard": "registry", "SavedModel": "registry", "list_models": "registry", "load_model": "registry",
    "Recommender": "serving.recommender",
}

_names, __getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["__version__", *_names]
