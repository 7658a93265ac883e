"""Typed, lazily loaded exports: lazy_loader reads this stub at import time, mypy and editors too."""

from .als import ALS, ALS_PARAMS, blas_single_thread
from .base import Model, Unsupported
from .baselines import Popularity, Random
from .cluster_popularity import ClusterPopularity
from .ease import EASE
from .factory import BASELINES, FAMILIES, make_model, model_class
from .itemknn import ItemKNN

__all__ = [
    "ALS",
    "ALS_PARAMS",
    "BASELINES",
    "EASE",
    "FAMILIES",
    "ClusterPopularity",
    "ItemKNN",
    "Model",
    "Popularity",
    "Random",
    "Unsupported",
    "blas_single_thread",
    "make_model",
    "model_class",
]
