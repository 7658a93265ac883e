"""Splits: disjoint, complete, seeded; leave-k-out counts; temporal order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data.interactions import Interactions, from_frame
from recommender.data.splits import holdout, leave_k_out, make_split, temporal
from recommender.errors import DataError


def _data(users: int = 40, items: int = 30, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    rows = [(u, i, float(rng.integers(1, 5)), float(rng.integers(0, 10_000)))
            for u in range(users) for i in range(items) if rng.random() < 0.4]
    frame = pd.DataFrame(rows, columns=["user", "item", "strength", "time"])
    frame["time"] = pd.to_datetime(frame["time"], unit="s")
    return from_frame(frame)


@pytest.mark.parametrize("method", ["holdout", "leave-k-out", "temporal"])
def test_disjoint_complete_and_seeded(method: str) -> None:
    data = _data()
    split = make_split(data, method, seed=7)
    parts = [split.train, split.validation, split.test]
    masks = [p.toarray() != 0 for p in parts]
    assert not (masks[0] & masks[1]).any() and not (masks[0] & masks[2]).any()
    assert not (masks[1] & masks[2]).any()
    assert np.allclose(sum(p.toarray() for p in parts), data.matrix.toarray())
    assert all(p.nnz for p in parts)
    assert (np.diff(split.train.indptr) >= 1).all()  # everyone keeps a training item
    again = make_split(data, method, seed=7)
    assert (again.test != split.test).nnz == 0
    if method != "temporal":  # (temporal depends on the seed only through ties)
        assert (make_split(data, method, seed=8).test != split.test).nnz > 0


def test_holdout_fractions() -> None:
    data = _data(users=50, items=50)
    split = holdout(data, test_fraction=0.2, val_fraction=0.1, seed=1)
    counts = np.diff(data.matrix.indptr)
    assert np.array_equal(np.diff(split.test.indptr), np.floor(counts * 0.2 + 0.5))
    assert np.array_equal(np.diff(split.validation.indptr), np.floor(counts * 0.1 + 0.5))


def test_leave_k_out_counts() -> None:
    data = _data()
    split = leave_k_out(data, k=2, seed=0)
    counts = np.diff(data.matrix.indptr)
    assert np.array_equal(np.diff(split.test.indptr), np.minimum(2, counts - 1))
    assert (np.diff(split.validation.indptr) <= 2).all()


def test_temporal_holds_out_the_latest() -> None:
    data = _data()
    split = temporal(data, test_fraction=0.25, val_fraction=0.25)
    times = data.matrix.copy()
    times.data = data.times.astype(np.float64)
    for u in range(data.shape[0]):
        t = times[u].toarray().ravel()
        test = t[split.test[u].indices]
        val = t[split.validation[u].indices]
        train = t[split.train[u].indices]
        if len(test) and len(val):
            assert test.min() >= val.max() >= train.max()


def test_temporal_needs_times() -> None:
    data = _data()
    no_times = Interactions(data.matrix, data.user_ids, data.item_ids, None)
    with pytest.raises(DataError, match="needs times"):
        temporal(no_times)


def test_too_little_data() -> None:
    frame = pd.DataFrame({"user": [1, 2], "item": [1, 2], "strength": [1.0, 1.0]})
    with pytest.raises(DataError, match="too little data"):
        holdout(from_frame(frame))


def test_the_fast_row_order_is_lexsorts() -> None:
    from recommender.data.splits import _row_then_key_order

    rng = np.random.default_rng(0)
    for case in range(200):
        n = int(rng.integers(1, 300))
        rows = np.sort(rng.integers(0, 30, n))
        keys = [rng.random(n), np.round(rng.random(n), 2), np.zeros(n),
                1.6e9 + rng.integers(0, 5, n) + rng.random(n) * 1e-9]  # times a jitter apart: lexsort's turn
        key = keys[case % 4]
        np.testing.assert_array_equal(_row_then_key_order(rows, key), np.lexsort((key, rows)))
