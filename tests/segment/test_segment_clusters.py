from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from kitsu_ingest.errors import ConfigError
from kitsu_ingest.segment import SegmentError, assign, choose_k, parse_features, parse_k, sweep
from kitsu_ingest.segment.clusters import explain


def blobs(n_per: int = 200, centres: int = 4, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.normal(0, 10, (centres, 5))
    return np.vstack([c + rng.normal(0, 0.5, (n_per, 5)) for c in middle]).astype(np.float32)


def test_parse_k_forms_and_errors() -> None:
    assert parse_k("2..5") == (2, 3, 4, 5)
    assert parse_k("5") == (5,)
    assert parse_k("8, 3,5") == (3, 5, 8)
    for bad in ("1", "x", "5..2", "1..4", ""):
        with pytest.raises(ConfigError, match="--k"):
            parse_k(bad)


def test_parse_features() -> None:
    assert parse_features("status, svd") == ("svd", "status")
    with pytest.raises(ConfigError, match="unknown feature block 'pca'"):
        parse_features("svd,pca")
    with pytest.raises(ConfigError, match="must include svd"):
        parse_features("status")


def test_sweep_table_finds_the_blobs() -> None:
    x = blobs()
    table, centres = sweep(x, (2, 3, 4, 5, 6), seed=0, silhouette_sample=300)
    assert [r.k for r in table] == [2, 3, 4, 5, 6]
    inertia = [r.inertia for r in table]
    assert all(a >= b for a, b in pairwise(inertia))
    assert all(-1 <= r.silhouette <= 1 and r.davies_bouldin > 0 for r in table)
    assert choose_k(table) == 4
    assert explain(table, 4)[0].startswith("k=4 has the best silhouette")
    assert any("largest k" in note for note in explain(table[:3], 4))
    best = min(table, key=lambda r: r.davies_bouldin)
    assert best.k == 4
    labels, inertia4 = assign(x, centres[4])
    assert np.bincount(labels).tolist() == [200] * 4
    assert inertia4 == pytest.approx(table[2].inertia)


def test_same_seed_same_labels_and_fit_sample() -> None:
    x = blobs(centres=5)
    a = sweep(x, (5,), seed=3, fit_sample=300)[1][5]
    b = sweep(x, (5,), seed=3, fit_sample=300)[1][5]
    assert np.array_equal(assign(x, a)[0], assign(x, b)[0])


def test_k_larger_than_users() -> None:
    with pytest.raises(SegmentError, match="k=12 is more than the 5 users"):
        sweep(blobs(n_per=1, centres=5), (2, 12))
