"""Engagement tiers as in the original study: an interaction score cut into low / medium / high.

    interaction_score = ln(lifeSpentOnAnime + 1.25 * ratingsCount + 1.5 * favoritesCount)

Users whose lifeSpentOnAnime and ratingsCount are both 0 are left out (the study's filter). Bins are
equal-width over the scores' range (`pd.cut(score, 3)`, as the study) or tertiles (`quantile`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kitsu_ingest.segment.errors import ConfigError, SegmentError

__all__ = ["BIN_RULES", "TIER_LABELS", "TierResult", "assign_tiers", "interaction_score"]

TIER_LABELS = ("low", "medium", "high")
BIN_RULES = ("equal", "quantile")


@dataclass(frozen=True)
class TierResult:
    """Per-user tiers (codes 0..2, -1 for users left out), scores (NaN when left out) and bin edges."""

    included: np.ndarray
    score: np.ndarray
    tier: np.ndarray
    edges: tuple[float, ...]
    rule: str

    @property
    def excluded(self) -> int:
        return int((~self.included).sum())

    def counts(self) -> dict[str, int]:
        found = np.bincount(self.tier[self.included], minlength=len(TIER_LABELS))
        return {label: int(n) for label, n in zip(TIER_LABELS, found)}


def interaction_score(life: np.ndarray, ratings: np.ndarray, favorites: np.ndarray) -> np.ndarray:
    """ln(life + 1.25 ratings + 1.5 favorites), elementwise (-inf where all three are 0)."""
    total = np.asarray(life, np.float64) + 1.25 * np.asarray(ratings, np.float64)
    total = total + 1.5 * np.asarray(favorites, np.float64)
    with np.errstate(divide="ignore"):
        return np.log(total)


def assign_tiers(
    life: np.ndarray, ratings: np.ndarray, favorites: np.ndarray, rule: str = "equal"
) -> TierResult:
    """Score every user, leave out the inactive ones, cut the rest into three tiers by `rule`."""
    if rule not in BIN_RULES:
        raise ConfigError(f"unknown bin rule {rule!r}; use one of: {', '.join(BIN_RULES)}")
    life, ratings = np.asarray(life), np.asarray(ratings)
    included = ~((life == 0) & (ratings == 0))
    score = np.full(len(life), np.nan)
    score[included] = interaction_score(life[included], ratings[included],
                                        np.asarray(favorites)[included])
    tier = np.full(len(life), -1, dtype=np.int8)
    kept = score[included]
    if len(kept) == 0:
        raise SegmentError("no user has time spent on anime or ratings: nothing to put in tiers")
    if rule == "equal":
        codes, edges = pd.cut(kept, 3, labels=False, retbins=True)
    else:
        try:
            codes, edges = pd.qcut(kept, 3, labels=False, retbins=True)
        except ValueError:
            raise SegmentError(
                "too many users share one score for quantile bins; use --bins equal"
            ) from None
    tier[included] = np.asarray(codes, dtype=np.int8)
    return TierResult(included, score, tier, tuple(float(e) for e in edges), rule)
