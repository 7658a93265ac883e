from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from recommender.data.ids import align_labels
from recommender.models.cluster_popularity import ClusterPopularity
from recommender.ranking import Exclusions

# 6 users x 5 items. Cluster 0: users 0-2 love item 0 and 1; cluster 1: users 3-4 love item 3.
# User 5 has no cluster. Item 4 is one fan's (user 3) only.
M = csr_matrix(np.array([
    [1, 1, 0, 0, 0],
    [1, 0, 0, 0, 0],
    [1, 1, 1, 0, 0],
    [0, 0, 1, 1, 1],
    [0, 0, 1, 1, 0],
    [1, 1, 1, 0, 0],
], dtype=np.float32))
LABELS = np.array([0, 0, 0, 1, 1, -1])


def _recommend(model: ClusterPopularity, user: int, n: int) -> np.ndarray:
    """The user's top n, without what they have."""
    columns, _ = model.recommend(np.array([user]), n, Exclusions.from_matrix(M[[user]]))
    return columns[0][columns[0] >= 0]


def test_most_popular_unseen_in_the_cluster() -> None:
    model = ClusterPopularity(LABELS, min_support=2).fit(M)
    items = _recommend(model, 1, n=2)  # user 1 has item 0; cluster 0 has item 1 twice
    assert items[0] == 1
    # User 4 has seen cluster 1's supported items (2, 3): the most popular unseen item overall.
    items = _recommend(model, 4, n=1)
    assert items.tolist() == [0]


def test_min_support_keeps_one_fans_item_down() -> None:
    model = ClusterPopularity(LABELS, min_support=2).fit(M)
    scores = model.score(np.array([4]))[0]
    assert model.counts[1, 4] == 1
    assert scores[4] < 1.0 <= scores[2]  # item 4 only by global popularity, below supported ones
    loose = ClusterPopularity(LABELS, min_support=1).fit(M)
    assert loose.score(np.array([4]))[0][4] >= 1.0


def test_unclustered_users_get_global_popularity_and_scores_shape() -> None:
    model = ClusterPopularity(LABELS, min_support=2).fit(M)
    scores = model.score(np.array([5, 0]))
    assert scores.shape == (2, 5)
    assert np.argmax(scores[0]) == 2 or np.argmax(scores[0]) == 0  # items 0 and 2 are held by 4
    assert np.all(scores[0] < 1.0)
    items = _recommend(model, 5, n=5)
    assert set(items.tolist()) == {3, 4}  # everything unseen, nothing seen


def test_align_labels_maps_ids_and_marks_missing() -> None:
    out = align_labels(np.array([30, 10, 99]), np.array([10, 20, 30]), np.array([2, 0, 1]))
    assert out.tolist() == [1, 2, -1]
    assert align_labels(np.array([1, 2]), np.array([], dtype=np.int64), np.array([])).tolist() == [-1, -1]


def test_bad_inputs() -> None:
    with pytest.raises(ValueError):
        ClusterPopularity(min_support=0)
    with pytest.raises(ValueError):
        ClusterPopularity(LABELS[:3]).fit(M)
