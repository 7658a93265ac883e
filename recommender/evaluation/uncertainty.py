"""How sure the figures are: confidence intervals by bootstrap over users, the paired test of two
families on the same users, and which family is kept when the best is within noise of others.

Every figure that is a mean over users (precision, recall, MAP and NDCG at K, AUC) gets a 95%
percentile bootstrap interval: the users of an EvalSet are drawn with replacement 1,000 times,
seeded by the evaluation's seed. The draws depend only on the seed and the number of users, so
every family and metric scored on one EvalSet is resampled by the same draws, and the difference
of two families' means on each draw is a paired bootstrap of their difference on the same users.
Coverage (a share of the catalogue, not a mean over users) and the user count get no interval: a
resample holds only about 63% of distinct users, so its coverage is biased low and a percentile
interval would miss the figure itself.

Within noise: another family is within noise of the best on validation when the paired 95%
interval of (best - other) in the primary metric contains 0. Of the families within noise of the
best (the best included), the cheapest to serve is the one whose model holds the fewest bytes (its
arrays as saved, measured on its test fit; on Last.fm: popularity 0.07 MB, ALS 10 MB, item-kNN
29 MB, EASE 101 MB); random is never taken for being cheap. The card names it; it is kept instead
of the best only when asked (`prefer_cheaper`): by default the best on validation is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from recommender.models.base import Model

__all__ = ["LEVEL", "RESAMPLES", "RULE", "Choice", "bootstrap_intervals", "choose", "family_intervals", "margin_test",
           "model_bytes", "paired_difference"]

RESAMPLES = 1_000
LEVEL = 0.95
_CELLS = 1 << 21
"""Draws held at once (resamples x users): 2M int64 = 16 MiB."""
NEVER_KEPT_FOR_COST = ("random",)
RULE = ("within noise: the paired bootstrap 95% interval of the validation difference contains 0; the cheapest "
        "within noise of the best is the family whose model holds the fewest bytes")


def bootstrap_intervals(columns: Mapping[str, np.ndarray], seed: int, resamples: int = RESAMPLES,
                        level: float = LEVEL) -> dict[str, tuple[float, float]]:
    """The percentile bootstrap interval of each column's mean, every column resampled by the same
    draws of its rows (users); NaN values are left out of a mean. Columns with no value are left out."""
    import numpy as np

    names = list(columns)
    if not names:
        return {}
    values = np.column_stack([np.asarray(columns[name], np.float64) for name in names])
    users = values.shape[0]
    defined = ~np.isnan(values)
    if users == 0:
        return {}
    values = np.where(defined, values, 0.0)
    weights = defined.astype(np.float64)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, _CELLS // users))
    means = np.empty((resamples, len(names)))
    offsets = users * np.arange(chunk)[:, None]
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        draws = rng.integers(0, users, size=(size, users)) + offsets[:size]
        counts = np.bincount(draws.ravel(), minlength=size * users).reshape(size, users).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[start:start + size] = (counts @ values) / (counts @ weights)
    out = {}
    tail = 50.0 * (1.0 - level)
    for j, name in enumerate(names):
        finite = means[:, j][np.isfinite(means[:, j])]
        if len(finite):
            low, high = np.percentile(finite, [tail, 100.0 - tail])
            out[name] = (float(low), float(high))
    return out


def family_intervals(per_user: Mapping[str, Mapping[str, np.ndarray]], seed: int) -> dict[str, dict[str, list[float]]]:
    """{family: {metric: [low, high]}} from each family's per-user values on one EvalSet."""
    columns = {(family, metric): values for family, figures in per_user.items() for metric, values in figures.items()}
    flat = bootstrap_intervals({f"{f}\0{m}": v for (f, m), v in columns.items()}, seed)
    out: dict[str, dict[str, list[float]]] = {family: {} for family in per_user}
    for name, (low, high) in flat.items():
        family, metric = name.split("\0")
        out[family][metric] = [low, high]
    return out


def paired_difference(a: np.ndarray, b: np.ndarray, seed: int) -> dict[str, Any]:
    """mean(a - b) over the users both are defined for, its paired bootstrap interval, and whether
    that interval holds 0 (the difference and interval are None when no user has both)."""
    import numpy as np

    difference = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    interval = bootstrap_intervals({"d": difference}, seed).get("d")
    mean = float(np.nanmean(difference)) if interval is not None else None
    return {"difference": mean, "interval": list(interval) if interval else None,
            "within_noise": interval is not None and interval[0] <= 0.0 <= interval[1]}


def model_bytes(model: Model) -> int:
    """What a model holds to serve: the bytes of the arrays it saves."""
    import numpy as np

    return sum(value.nbytes for value in model.arrays().values() if isinstance(value, np.ndarray))


@dataclass(frozen=True)
class Choice:
    """The family kept and why: the best on validation, or the cheapest within noise of it."""

    kept: str
    best: str
    cheapest: str
    """The family holding the fewest bytes among the best and those within noise of it."""
    within_noise: tuple[str, ...]
    """The other families within noise of the best on validation."""
    differences: dict[str, dict[str, Any]]
    """best - other, each other family: `paired_difference` on validation."""


def choose(best: str, validation: Mapping[str, np.ndarray], cost: Mapping[str, int], seed: int, *,
           prefer_cheaper: bool = False) -> Choice:
    """The family to keep, from each family's per-user primary figure on validation (the same
    users for all) and what each costs to serve (`model_bytes`): `best`, the best on validation,
    or with `prefer_cheaper` the cheapest within noise of it."""
    differences = {other: paired_difference(validation[best], values, seed)
                   for other, values in validation.items() if other != best}
    tied = tuple(other for other, test in differences.items() if test["within_noise"])
    eligible = [best, *(f for f in tied if f not in NEVER_KEPT_FOR_COST and f in cost)]
    cheapest = min(eligible, key=lambda f: (cost[f], f != best)) if best in cost else best
    return Choice(cheapest if prefer_cheaper else best, best, cheapest, tied, differences)


def margin_test(choice: Choice, means: Mapping[str, float], validation: Mapping[str, np.ndarray],
                test: Mapping[str, np.ndarray], key: str, seed: int, cost: Mapping[str, int]) -> dict[str, Any] | None:
    """The model card's test of the kept family's margin over the runner-up (the best other family
    on validation, by `means`): paired differences of `key` on validation and on test, the families
    within noise of the best, whether the kept one was kept for its cost. None with no other family."""
    others = [family for family in means if family != choice.kept]
    if not others:
        return None
    runner_up = max(others, key=lambda family: means[family])
    on_validation = paired_difference(validation[choice.kept], validation[runner_up], seed)
    on_test = paired_difference(test[choice.kept], test[runner_up], seed) \
        if choice.kept in test and runner_up in test else None
    return {"runner_up": runner_up, "metric": key, "within_noise": on_validation["within_noise"],
            "validation": on_validation, "test": on_test, "best_on_validation": choice.best,
            "kept_for_cost": choice.kept != choice.best, "within_noise_of_best": list(choice.within_noise),
            "cheapest_within_noise": choice.cheapest,
            "model_bytes": dict(cost), "resamples": RESAMPLES, "level": LEVEL, "rule": RULE}
