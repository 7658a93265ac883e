"""Typed, lazily loaded exports (lazy_loader reads this stub; mypy and editors too)."""

__version__: str
from .data.events import EventWeights as EventWeights
from .data.events import load_weights as load_weights
from .data.files import FileSpec as FileSpec
from .data.interactions import Interactions as Interactions
from .data.sources import load_interactions as load_interactions
from .data.splits import Split as Split
from .data.splits import make_split as make_split
from .data.store import StoreReader as StoreReader
from .errors import (
    ConfigFileError as ConfigFileError,
)
from .errors import (
    DataError as DataError,
)
from .errors import (
    ModelNotFoundError as ModelNotFoundError,
)
from .errors import (
    RecommenderError as RecommenderError,
)
from .evaluation.evaluator import evaluate as evaluate
from .evaluation.grid import Grid as Grid
from .evaluation.grid import load_grid as load_grid
from .models.base import Model as Model
from .models.factory import make_model as make_model
from .protocol import TrainConfig as TrainConfig
from .registry import (
    ModelCard as ModelCard,
)
from .registry import (
    SavedModel as SavedModel,
)
from .registry import (
    list_models as list_models,
)
from .registry import (
    load_model as load_model,
)
from .serving.recommender import Recommender as Recommender
from .training import TrainResult as TrainResult
from .training import train as train
from .training import train_and_save as train_and_save

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
