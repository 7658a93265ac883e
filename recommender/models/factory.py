"""Every model family by name: `make_model("itemknn")`, `model_class("als").load(folder)`."""

from __future__ import annotations

from typing import Any

from recommender.errors import RecommenderError
from recommender.models.als import ALS
from recommender.models.base import Model
from recommender.models.baselines import Popularity, Random
from recommender.models.cluster_popularity import ClusterPopularity
from recommender.models.ease import EASE
from recommender.models.itemknn import ItemKNN

__all__ = ["BASELINES", "FAMILIES", "make_model", "model_class"]

FAMILIES: dict[str, type[Model]] = {
    cls.family: cls for cls in (ALS, ItemKNN, EASE, Popularity, Random, ClusterPopularity)}
BASELINES = ("popularity", "itemknn", "random")
"""The baselines every trained model is tested against (cluster popularity joins them when the
store has clusters)."""


def model_class(family: str) -> type[Model]:
    """The class of a family; RecommenderError naming the known ones if there is no such family."""
    try:
        return FAMILIES[family]
    except KeyError:
        raise RecommenderError(f"unknown model family {family!r}; use one of {', '.join(FAMILIES)}") from None


def make_model(family: str, **params: Any) -> Model:
    """An unfitted model of `family` with `params` (e.g. factors=64 for ALS, labels= for clusters)."""
    return model_class(family)(**params)
