"""Typed, lazily loaded exports: lazy_loader reads this stub at import time, mypy and editors too."""

from .batch import BatchSummary, exclusions_from_history, exclusions_from_store, recommend_all, top_n_all
from .fetch import fetch_user
from .holder import ModelHolder
from .recommender import (
    FALLBACK,
    FOLDED_IN,
    MODEL,
    BrokenModel,
    Contribution,
    NotFound,
    Recommendation,
    Recommender,
    SimilarResult,
    UserResult,
    is_finite,
)
from .server import make_server, run_server

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
