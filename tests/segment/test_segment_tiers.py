from __future__ import annotations

import math

import numpy as np
import pytest

from kitsu_ingest.errors import ConfigError
from kitsu_ingest.segment import SegmentError, assign_tiers, interaction_score

# users:        A (left out)  B     C    D     E    F
LIFE = np.array([0, 100, 0, 1000, 20, 30])
RATINGS = np.array([0, 4, 8, 0, 0, 0])
FAVORITES = np.array([3, 2, 0, 0, 0, 0])


def test_score_formula_by_hand() -> None:
    score = interaction_score(LIFE[1:], RATINGS[1:], FAVORITES[1:])
    expected = [math.log(100 + 1.25 * 4 + 1.5 * 2), math.log(1.25 * 8), math.log(1000),
                math.log(20), math.log(30)]
    assert score == pytest.approx(expected)


def test_users_without_time_and_ratings_are_left_out() -> None:
    result = assign_tiers(LIFE, RATINGS, FAVORITES)
    assert result.excluded == 1
    assert result.included.tolist() == [False, True, True, True, True, True]
    assert result.tier[0] == -1 and math.isnan(result.score[0])


def test_equal_width_bins_as_pd_cut() -> None:
    result = assign_tiers(LIFE, RATINGS, FAVORITES, "equal")
    # range ln 10 .. ln 1000 in three equal widths: edges ~3.838 and ~5.373
    assert result.edges[1:3] == pytest.approx([math.log(10) + (math.log(1000) - math.log(10)) / 3 * i
                                               for i in (1, 2)])
    assert result.tier.tolist() == [-1, 1, 0, 2, 0, 0]
    assert result.counts() == {"low": 3, "medium": 1, "high": 1}


def test_quantile_bins_are_tertiles() -> None:
    result = assign_tiers(LIFE, RATINGS, FAVORITES, "quantile")
    assert result.tier.tolist() == [-1, 2, 0, 2, 0, 1]
    assert result.counts() == {"low": 2, "medium": 1, "high": 2}
    assert result.edges[1] == pytest.approx(np.quantile(result.score[1:], 1 / 3))


def test_bad_rule_and_nothing_to_tier() -> None:
    with pytest.raises(ConfigError, match="unknown bin rule 'weird'"):
        assign_tiers(LIFE, RATINGS, FAVORITES, "weird")
    with pytest.raises(SegmentError, match="nothing to put in tiers"):
        assign_tiers(np.zeros(3), np.zeros(3), np.ones(3))
    with pytest.raises(SegmentError, match="--bins equal"):
        assign_tiers(np.full(6, 5), np.zeros(6), np.zeros(6), "quantile")
