"""What a search may try: each family's parameters with their ranges, the confidence transforms, the
event weights, and the configurations every budgeted search starts from.

Trial parameters are named `<family>.<parameter>` (families share no ranges: EASE's
regularization is not ALS's) and `w.<kind>` for event weights; `model_params` strips the prefix.
Ranges are wide and log-scaled where the scale is unknown: the defaults of the first grid sat on
its edges (regularization 30, alpha 1, 256 factors, 50 iterations).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kitsu_ingest.domain import DEFAULT_FAVORITE_WEIGHT, DEFAULT_STATUS_WEIGHTS

if TYPE_CHECKING:
    import optuna

__all__ = ["CONFIDENCES", "DEFAULTS", "SEARCHABLE", "STRONG_ALS", "WEIGHT_RANGE", "confidence_of", "model_params",
           "starting_points",
           "suggest"]

CONFIDENCES: dict[str, tuple[str, bool]] = {"linear": ("linear", False), "log": ("log", False),
                                            "bm25": ("linear", True)}
"""A confidence choice -> (transform, bm25) of `apply_confidence`."""
SEARCHABLE = ("als", "itemknn", "ease", "popularity")
"""The families a budgeted search tunes (random and cluster popularity are only baselines)."""
WEIGHT_RANGE = (-5.0, 10.0)
"""Each event weight's range when weights are learnt (a weights file takes any of them): a negative
weight counts against the other events of its pair, and a pair at zero or less is left out."""
MAX_ITERATIONS = 100
EASE_MAX_ITEMS = 5000


def _als(trial: optuna.Trial) -> dict[str, Any]:
    return {"factors": trial.suggest_int("als.factors", 8, 512, log=True),
            "regularization": trial.suggest_float("als.regularization", 1e-3, 1e3, log=True),
            "alpha": trial.suggest_float("als.alpha", 1e-2, 1e2, log=True),
            "iterations": trial.suggest_int("als.iterations", 5, MAX_ITERATIONS, log=True)}


def _itemknn(trial: optuna.Trial) -> dict[str, Any]:
    return {"kind": trial.suggest_categorical("itemknn.kind", ["bm25", "cosine"]),
            "neighbours": trial.suggest_int("itemknn.neighbours", 5, 1000, log=True)}


def _ease(trial: optuna.Trial) -> dict[str, Any]:
    return {"regularization": trial.suggest_float("ease.regularization", 1.0, 1e5, log=True),
            "max_items": EASE_MAX_ITEMS}


_SPACES = {"als": _als, "itemknn": _itemknn, "ease": _ease, "popularity": lambda _trial: {}}


def suggest(trial: optuna.Trial, family: str, kinds: tuple[str, ...] = ()) -> tuple[
        dict[str, Any], dict[str, float] | None]:
    """A trial's (params, weights): the confidence and model parameters of `family`, and with
    event `kinds`, a weight for each."""
    confidence = "linear" if family == "popularity" else trial.suggest_categorical(
        f"{family}.confidence", list(CONFIDENCES))
    transform, bm25 = CONFIDENCES[confidence]
    weights = {kind: trial.suggest_float(f"w.{kind}", *WEIGHT_RANGE) for kind in kinds} if kinds else None
    return {"transform": transform, "bm25": bm25, **_SPACES[family](trial)}, weights


def confidence_of(params: Mapping[str, Any]) -> str:
    """The confidence choice of a configuration's (transform, bm25)."""
    pair = (params.get("transform", "linear"), bool(params.get("bm25", False)))
    return next((name for name, value in CONFIDENCES.items() if value == pair), "linear")


def model_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration's model parameters (without the confidence transform)."""
    return {k: v for k, v in params.items() if k not in ("transform", "bm25")}


DEFAULTS: dict[str, dict[str, Any]] = {
    "als": {"transform": "log", "bm25": False, "factors": 64, "regularization": 0.3, "alpha": 10.0, "iterations": 20},
    "itemknn": {"transform": "linear", "bm25": False, "kind": "bm25", "neighbours": 100},
    "ease": {"transform": "linear", "bm25": False, "regularization": 500.0, "max_items": EASE_MAX_ITEMS},
    "popularity": {"transform": "linear", "bm25": False},
    "random": {"transform": "linear", "bm25": False},
    "cluster_popularity": {"transform": "linear", "bm25": False, "min_support": 5},
}
"""Each family's well-known default configuration: the baselines as tested, the search's start."""
STRONG_ALS = {"transform": "log", "bm25": False, "factors": 128, "regularization": 30.0, "alpha": 1.0, "iterations": 30}
"""Where public benchmarks put ALS's best: strong regularization, low alpha (a second start)."""
_FIXED = {"max_items"}  # set by the code, not searched


def _as_trial(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration as the trial parameters `suggest` would have drawn for it."""
    chosen = {f"{family}.{k}": v for k, v in model_params(params).items() if k not in _FIXED}
    return chosen if family == "popularity" else {f"{family}.confidence": confidence_of(params), **chosen}


def starting_points(families: tuple[str, ...], kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The configurations a budgeted search tries first (as trial parameters): each family's
    default, so that tuning never ends below the defaults it replaces, and ALS's strong start."""
    weights = {**DEFAULT_STATUS_WEIGHTS, "favorite": DEFAULT_FAVORITE_WEIGHT}
    start = {f"w.{kind}": float(weights.get(kind, 1.0)) for kind in kinds}
    points = [(family, DEFAULTS[family]) for family in families]
    if "als" in families:
        points.append(("als", STRONG_ALS))
    return [{**({"family": family} if len(families) > 1 else {}), **_as_trial(family, point), **start}
            for family, point in points]
