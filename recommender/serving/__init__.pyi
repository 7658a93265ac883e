"""Typed, lazily loaded exports (lazy_loader reads this stub; mypy and editors too)."""

from .batch import (
    BatchSummary as BatchSummary,
)
from .batch import (
    exclusions_from_history as exclusions_from_history,
)
from .batch import (
    exclusions_from_store as exclusions_from_store,
)
from .batch import (
    recommend_all as recommend_all,
)
from .batch import (
    top_n_all as top_n_all,
)
from .fetch import fetch_user as fetch_user
from .holder import ModelHolder as ModelHolder
from .recommender import (
    FALLBACK as FALLBACK,
)
from .recommender import (
    FOLDED_IN as FOLDED_IN,
)
from .recommender import (
    MODEL as MODEL,
)
from .recommender import (
    BrokenModel as BrokenModel,
)
from .recommender import (
    Contribution as Contribution,
)
from .recommender import (
    NotFound as NotFound,
)
from .recommender import (
    Recommendation as Recommendation,
)
from .recommender import (
    Recommender as Recommender,
)
from .recommender import (
    SimilarResult as SimilarResult,
)
from .recommender import (
    UserResult as UserResult,
)
from .recommender import (
    is_finite as is_finite,
)
from .server import make_server as make_server
from .server import run_server as run_server

__all__ = [
    "FALLBACK",
    "FOLDED_IN",
    "MODEL",
    "BatchSummary",
    "BrokenModel",
    "Contribution",
    "ModelHolder",
    "NotFound",
    "Recommendation",
    "Recommender",
    "SimilarResult",
    "UserResult",
    "exclusions_from_history",
    "exclusions_from_store",
    "fetch_user",
    "is_finite",
    "make_server",
    "recommend_all",
    "run_server",
    "top_n_all",
]
