"""How sure the figures are: confidence intervals by bootstrap over users, the paired test of two
families on the same users, and which family is kept when the best is within noise of others.

Every figure that is a mean over users (precision, recall, MAP and NDCG at K, AUC) gets a 95%
percentile bootstrap interval: the users of an EvalSet are drawn with replacement 1,000 times,
seeded by the evaluation's seed, and every family and metric scored on it is averaged over the
same draws (`resample`, one pass). The difference of two families' means on each draw is then a
paired bootstrap of their difference on the same users. Coverage (a share of the catalogue, not a
mean over users) and the user count get no interval: a resample holds only about 63% of distinct
users, so its coverage is biased low and a percentile interval would miss the figure itself.

Within noise: another family is within noise of the best on validation when the paired 95%
interval of (best - other) in the primary metric contains 0. Of the families within noise of the
best (the best included), the cheapest to serve is the one whose model holds the fewest bytes (its
arrays as saved, measured on its test fit; on Last.fm: popularity 0.07 MB, ALS 10 MB, item-kNN
21 MB, EASE 101 MB); random is never taken for being cheap. The card names it; it is kept instead
of the best only when asked (`prefer_cheaper`): by default the best on validation is kept.

Measured (`recommend train`, default budget, seeds 0 to 4): on Last.fm no family was ever within
noise of ALS (+0.010 to +0.038 NDCG@10 over item-kNN); on the emulator's 1,000 users item-kNN was
within noise of ALS in 3 of 5 runs, but ALS held the fewer bytes (9.7 MB against 141 to 208 MB), so
the rule changed nothing. Keeping item-kNN there (a fixed order, item-kNN cheaper than ALS) would
have lost 0.008, 0.018 and 0.015 test NDCG@10, each beyond noise on test: within noise on
validation is no proof of a tie, hence the best is kept unless asked.

Cost: two passes of draws per training run (validation, test): 0.1 s on Last.fm's 1,883 users,
about 2 s at 50,000 users (the most `--eval-users` scores by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from recommender.models.base import Model

__all__ = ["LEVEL", "RESAMPLES", "RULE", "Choice", "Resampled", "choose", "margin_test", "model_bytes", "resample"]

RESAMPLES = 1_000
LEVEL = 0.95
_CELLS = 1 << 21
"""Draws held at once (resamples x users): 2M int64 = 16 MiB."""
NEVER_KEPT_FOR_COST = ("random",)
RULE = ("within noise: the paired bootstrap 95% interval of the validation difference contains 0; the cheapest "
        "within noise of the best is the family whose model holds the fewest bytes")


@dataclass(frozen=True)
class Resampled:
    """Each (family, metric)'s mean over one EvalSet's users, and over the same resamples of them."""

    observed: dict[tuple[str, str], float]
    means: dict[tuple[str, str], np.ndarray]
    """One mean per resample (NaN where a resample has no user the figure is defined for)."""

    def interval(self, family: str, metric: str) -> list[float] | None:
        """The percentile interval of a figure; None when it has no defined resample."""
        return _percentiles(self.means[family, metric])

    def intervals(self) -> dict[str, dict[str, list[float]]]:
        """{family: {metric: [low, high]}} of every figure with an interval."""
        out: dict[str, dict[str, list[float]]] = {}
        for family, metric in self.means:
            interval = self.interval(family, metric)
            if interval is not None:
                out.setdefault(family, {})[metric] = interval
        return out

    def difference(self, a: str, b: str, metric: str) -> dict[str, Any]:
        """Family `a`'s figure minus `b`'s, its paired interval, and whether that interval holds 0."""
        interval = _percentiles(self.means[a, metric] - self.means[b, metric])
        return {"difference": self.observed[a, metric] - self.observed[b, metric] if interval else None,
                "interval": interval, "within_noise": interval is not None and interval[0] <= 0.0 <= interval[1]}


def resample(per_user: Mapping[str, Mapping[str, np.ndarray]], seed: int, resamples: int = RESAMPLES) -> Resampled:
    """Each family's per-user values on one EvalSet ({family: {metric: values}}, all as long: one
    value per user, NaN where undefined) averaged over `resamples` seeded draws of the users."""
    import numpy as np

    names = [(family, metric) for family, figures in per_user.items() for metric in figures]
    values = np.column_stack([np.asarray(per_user[f][m], np.float64) for f, m in names]) if names else np.zeros((0, 0))
    users = values.shape[0]
    defined = ~np.isnan(values)
    observed = {name: float(values[defined[:, j], j].mean()) if defined[:, j].any() else float("nan")
                for j, name in enumerate(names)}
    if users == 0:
        return Resampled(observed, {name: np.full(resamples, np.nan) for name in names})
    values = np.where(defined, values, 0.0)
    gaps = ~defined.all(axis=0)  # columns with undefined users are averaged over the defined ones drawn
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, _CELLS // users))
    offsets = users * np.arange(chunk)[:, None]
    means = np.empty((resamples, len(names)))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        draws = rng.integers(0, users, size=(size, users)) + offsets[:size]
        counts = np.bincount(draws.ravel(), minlength=size * users).reshape(size, users).astype(np.float64)
        block = counts @ values / users
        if gaps.any():
            with np.errstate(invalid="ignore", divide="ignore"):
                block[:, gaps] = counts @ values[:, gaps] / (counts @ defined[:, gaps])
        means[start:start + size] = block
    return Resampled(observed, {name: means[:, j] for j, name in enumerate(names)})


def _percentiles(means: np.ndarray, level: float = LEVEL) -> list[float] | None:
    import numpy as np

    finite = means[np.isfinite(means)]
    if not len(finite):
        return None
    tail = 50.0 * (1.0 - level)
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return [float(low), float(high)]


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


def choose(best: str, validation: Resampled, metric: str, cost: Mapping[str, int], *,
           prefer_cheaper: bool = False) -> Choice:
    """The family to keep from the families resampled on validation and what each costs to serve
    (`model_bytes`): `best`, the best on validation, or with `prefer_cheaper` the cheapest within
    noise of it."""
    others = [family for family, name in validation.means if name == metric and family != best]
    tied = tuple(other for other in others if validation.difference(best, other, metric)["within_noise"])
    eligible = [best, *(f for f in tied if f not in NEVER_KEPT_FOR_COST and f in cost)]
    cheapest = min(eligible, key=lambda f: (cost[f], f != best)) if best in cost else best
    return Choice(cheapest if prefer_cheaper else best, best, cheapest, tied)


def margin_test(choice: Choice, figures: Mapping[str, float], validation: Resampled, test: Resampled, metric: str,
                cost: Mapping[str, int]) -> dict[str, Any] | None:
    """The model card's test of the kept family's margin over the runner-up (the best other family
    on validation, by `figures`): paired differences of `metric` on validation and on test, the
    families within noise of the best, the cheapest of them, whether it was kept for its cost.
    None with no other family."""
    others = [family for family in figures if family != choice.kept]
    if not others:
        return None
    runner_up = max(others, key=lambda family: figures[family])
    on_validation = validation.difference(choice.kept, runner_up, metric)
    tested = {choice.kept, runner_up} <= {family for family, _ in test.means}
    return {"runner_up": runner_up, "metric": metric, "within_noise": on_validation["within_noise"],
            "validation": on_validation, "test": test.difference(choice.kept, runner_up, metric) if tested else None,
            "best_on_validation": choice.best, "kept_for_cost": choice.kept != choice.best,
            "within_noise_of_best": list(choice.within_noise), "cheapest_within_noise": choice.cheapest,
            "model_bytes": dict(cost), "resamples": RESAMPLES, "level": LEVEL, "rule": RULE}
