"""Typed, lazily loaded exports: lazy_loader reads this stub at import time, mypy and editors too."""

from .data.events import EventWeights, load_weights
from .data.files import FileSpec
from .data.interactions import Interactions
from .data.sources import load_interactions
from .data.splits import Split, make_split
from .data.store import StoreReader
from .errors import ConfigFileError, DataError, ModelNotFoundError, RecommenderError
from .evaluation.evaluator import evaluate
from .evaluation.grid import Grid, load_grid
from .models.base import Model
from .models.factory import make_model
from .protocol import TrainConfig
from .registry import ModelCard, SavedModel, list_models, load_model
from .serving.recommender import Recommender
from .training import TrainResult, train, train_and_save

__version__: str
__all__ = [
    "ConfigFileError",
    "DataError",
    "EventWeights",
    "FileSpec",
    "Grid",
    "Interactions",
    "Model",
    "ModelCard",
    "ModelNotFoundError",
    "Recommender",
    "RecommenderError",
    "SavedModel",
    "Split",
    "StoreReader",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "evaluate",
    "list_models",
    "load_grid",
    "load_interactions",
    "load_model",
    "load_weights",
    "make_model",
    "make_split",
    "train",
    "train_and_save",
]
