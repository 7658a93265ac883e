"""Saved models: round trip, versions, latest pointer."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import random as sparse_random

from recommender.als import fit_als
from recommender.errors import ModelNotFoundError, RecommenderError
from recommender.registry import check_writable, list_models, load_model, save_model


def _model():  # type: ignore[no-untyped-def]
    matrix = sparse_random(20, 15, density=0.3, format="csr", random_state=0, dtype=np.float32)
    params = {"factors": 4, "regularization": 0.1, "alpha": 1.0, "iterations": 3}
    return fit_als(matrix, params)[0]


def test_round_trip(tmp_path: Path) -> None:
    model = _model()
    users = np.array([f"u{i}" for i in range(20)], dtype=object)
    items = np.arange(100, 115)
    meta = {"params": {"factors": 4}, "fingerprint": "abcdef0123456789"}
    first = save_model(tmp_path, model, users, items, meta)
    second = save_model(tmp_path, model, users, items, meta)
    assert first != second
    saved = load_model(tmp_path)
    assert saved.version == second
    assert np.array_equal(saved.user_factors, model.user_factors)
    assert np.array_equal(saved.item_factors, model.item_factors)
    assert saved.user_ids.tolist() == users.tolist() and saved.item_ids.tolist() == items.tolist()
    assert saved.item_index[103] == 3 and saved.user_index["u5"] == 5
    assert saved.meta["params"] == {"factors": 4} and saved.meta["created_at"]
    als = saved.als()
    assert np.array_equal(als.item_factors, model.item_factors)
    ids, _ = als.recommend(0, None, N=3, filter_already_liked_items=False)
    assert len(ids) == 3
    assert load_model(tmp_path, first).version == first
    assert load_model(tmp_path, second).version == second
    listed = list_models(tmp_path)
    assert [m["version"] for m in listed] == [first, second]
    assert [m["latest"] for m in listed] == [False, True]


def test_no_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="recommend train"):
        load_model(tmp_path)
    assert list_models(tmp_path / "missing") == []


def test_model_dir_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(RecommenderError, match="cannot create the model directory"):
        check_writable(tmp_path / "file" / "models")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_dir(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(RecommenderError, match="not writable"):
            check_writable(locked)
    finally:
        locked.chmod(0o700)
