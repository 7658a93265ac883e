"""Typed, lazily loaded exports (lazy_loader reads this stub; mypy and editors too)."""

from .als import ALS as ALS
from .als import ALS_PARAMS as ALS_PARAMS
from .als import blas_single_thread as blas_single_thread
from .base import Model as Model
from .base import Unsupported as Unsupported
from .baselines import Popularity as Popularity
from .baselines import Random as Random
from .cluster_popularity import ClusterPopularity as ClusterPopularity
from .ease import EASE as EASE
from .factory import BASELINES as BASELINES
from .factory import FAMILIES as FAMILIES
from .factory import make_model as make_model
from .factory import model_class as model_class
from .itemknn import ItemKNN as ItemKNN

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
