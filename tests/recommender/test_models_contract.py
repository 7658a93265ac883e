"""The contract every model family keeps (in the spirit of implicit's RecommenderBaseTestMixin):
one set of checks, run against each family the factory knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from recommender.errors import RecommenderError
from recommender.evaluation.evaluator import EvalSet, evaluate
from recommender.models.base import Model, Unsupported
from recommender.models.factory import FAMILIES, make_model, model_class
from recommender.ranking import Exclusions

USERS, ITEMS, GROUPS = 60, 30, 3
LABELS = np.arange(USERS) % GROUPS
PARAMS: dict[str, dict[str, Any]] = {
    "als": {"factors": 3, "regularization": 0.1, "alpha": 5.0, "iterations": 15},
    "cluster_popularity": {"labels": LABELS, "min_support": 2},
    "random": {"seed": 3},
}


def _matrix(seed: int = 0) -> csr_matrix:
    """Users of group g like the items of group g (and a little noise)."""
    rng = np.random.default_rng(seed)
    liked = (np.arange(ITEMS)[None, :] % GROUPS) == LABELS[:, None]
    dense = (rng.random((USERS, ITEMS)) < np.where(liked, 0.6, 0.05)).astype(np.float32)
    return csr_matrix(dense)


def _fitted(family: str, matrix: csr_matrix) -> Model:
    return make_model(family, **PARAMS.get(family, {})).fit(matrix)


@pytest.fixture(params=sorted(FAMILIES))
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_factory_knows_every_family_by_its_name(family: str) -> None:
    assert model_class(family).family == family
    assert isinstance(make_model(family, **PARAMS.get(family, {})), Model)
    with pytest.raises(RecommenderError, match="unknown model family"):
        model_class("nonsense")


def test_scores_have_one_row_per_user_and_one_column_per_item(family: str) -> None:
    matrix = _matrix()
    model = _fitted(family, matrix)
    scores = model.score(np.array([0, 5, 7]))
    assert scores.shape == (3, ITEMS) and model.n_items == ITEMS
    assert model.n_users in (None, USERS)
    assert np.isfinite(scores).all()


def test_recommend_ranks_best_first_and_never_returns_an_excluded_item(family: str) -> None:
    matrix = _matrix()
    model = _fitted(family, matrix)
    users = np.array([1, 2, 3])
    seen = Exclusions.from_matrix(matrix[users])
    columns, scores = model.recommend(users, 5, seen)
    assert columns.shape == (3, 5) and scores.shape == (3, 5)
    for row, user in enumerate(users):
        assert not set(columns[row].tolist()) & set(matrix[user].indices.tolist())
        assert (np.diff(scores[row]) <= 1e-6).all()
    # asking for more than remains pads with -1 and -inf
    columns, scores = model.recommend(np.array([0]), ITEMS, seen.rows(0, 1))
    left = ITEMS - matrix[1].nnz
    assert (columns[0] >= 0).sum() == left and np.isneginf(scores[0][left:]).all()


@pytest.mark.parametrize("family", sorted(set(FAMILIES) - {"random"}))  # random differs at every call
def test_recommend_agrees_with_score(family: str) -> None:
    model = _fitted(family, _matrix())
    columns, scores = model.recommend(np.array([4]), 6)
    assert np.allclose(np.sort(model.score(np.array([4]))[0])[::-1][:6], scores[0], rtol=1e-5)
    assert np.allclose(model.score(np.array([4]))[0][columns[0]], scores[0], rtol=1e-5)


def test_save_and_load_give_the_same_model(family: str, tmp_path: Path) -> None:
    model = _fitted(family, _matrix())
    path = model.save(tmp_path)
    assert path.name == f"{family}.npz"
    loaded = type(model).load(tmp_path)
    users = np.arange(10)
    if family == "random":  # a loaded random model starts from its seed again
        model = _fitted(family, _matrix())
    assert np.allclose(loaded.score(users), model.score(users))
    assert loaded.n_items == model.n_items


def test_a_truncated_file_is_a_one_line_error(family: str, tmp_path: Path) -> None:
    path = _fitted(family, _matrix()).save(tmp_path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(RecommenderError, match="unreadable"):
        model_class(family).load(tmp_path)


def test_similar_items_or_a_clear_unsupported(family: str) -> None:
    model = _fitted(family, _matrix())
    try:
        columns, scores = model.similar(0, 4)
    except Unsupported as exc:
        assert family in str(exc)
        return
    assert 0 not in columns.tolist() and len(columns) <= 4
    assert (np.diff(scores) <= 1e-6).all()
    # items of one group are most alike
    assert all(c % GROUPS == 0 for c in columns[:2].tolist())


@pytest.mark.parametrize("family", sorted(set(FAMILIES) - {"random"}))  # the floor itself
def test_every_model_but_random_beats_random_on_held_out_items(family: str) -> None:
    train, test = _matrix(0), _matrix(1)
    test = csr_matrix(test.toarray() * (train.toarray() == 0))
    data = EvalSet(train, test)
    figures = evaluate(_fitted(family, train), data, 5)
    floor = evaluate(_fitted("random", train), data, 5)
    assert figures["ndcg@5"] > floor["ndcg@5"]
