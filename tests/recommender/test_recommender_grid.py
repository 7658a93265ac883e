"""The grid: files, validation, and checkpoints that equal fits stopped there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.data.interactions import from_frame
from recommender.errors import ConfigFileError
from recommender.evaluation.grid import DEFAULT_GRID, Grid, load_grid
from recommender.evaluation.tuning import SearchConfig
from recommender.models.als import ALS
from recommender.training import TrainConfig, context_for


def _matrix(seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, 3, 80)
    rows = [(u, i, 1.0 + rng.integers(0, 5)) for u in range(80) for i in range(60)
            if rng.random() < (0.5 if i % 3 == taste[u] else 0.05)]
    return from_frame(pd.DataFrame(rows, columns=["user", "item", "strength"]))


def test_checkpoint_equals_a_fit_stopped_there() -> None:
    matrix = _matrix().matrix
    params = {"factors": 8, "regularization": 0.1, "alpha": 2.0, "iterations": 12}
    seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def keep(n: int, model, _seconds: float) -> None:  # type: ignore[no-untyped-def]
        seen[n] = (model.user_factors.copy(), model.item_factors.copy())

    ALS.from_params(params, seed=5).fit(matrix, checkpoints=(3, 7, 12), on_checkpoint=keep)
    for n in (3, 7):
        alone = ALS.from_params({**params, "iterations": n}, seed=5).fit(matrix)
        assert np.allclose(alone.user_factors, seen[n][0], atol=1e-5)
        assert np.allclose(alone.item_factors, seen[n][1], atol=1e-5)


def test_search_rows_and_free_iterations() -> None:
    from recommender.evaluation.study import open_study
    from recommender.evaluation.tuning import run_search

    data = _matrix()
    grid = Grid(factors=(4, 8), regularization=(0.1,), iterations=(2, 6), alpha=(1.0,),
                transform=("log",), bm25=(False,))
    config = SearchConfig(grid=grid, seconds=None, prune=False)
    calls: list[int] = []
    context = context_for(data, TrainConfig(k=5), config)
    rows = run_search(context, config, open_study(config, {}), lambda *_: calls.append(1))
    assert len(calls) == 2 and len(rows) == 4  # 2 fits, 2 checkpoints each
    assert {r["iterations"] for r in rows} == {2, 6}
    for r in rows:
        assert 0 <= r["ndcg@5"] <= 1 and r["fit_seconds"] > 0
    by_factors = {(r["factors"], r["iterations"]): r["fit_seconds"] for r in rows}
    assert by_factors[(4, 2)] < by_factors[(4, 6)]


def test_default_grid_is_wide() -> None:
    # wider than the first grid, whose best sat on its edges (reg 30, alpha 1, 256 factors, 50 its)
    assert min(DEFAULT_GRID.factors) <= 32 and max(DEFAULT_GRID.factors) >= 512
    assert max(DEFAULT_GRID.regularization) >= 1000 and min(DEFAULT_GRID.alpha) < 1
    assert max(DEFAULT_GRID.regularization) / min(DEFAULT_GRID.regularization) >= 1000
    assert max(DEFAULT_GRID.iterations) >= 100 and len(DEFAULT_GRID.alpha) > 1


def test_grid_file(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text("[grid]\nfactors = [8, 16]\nregularization = 1\nalpha = [1, 2.5]\n")
    grid = load_grid(path)
    assert grid.factors == (8, 16) and grid.regularization == (1.0,)
    assert grid.alpha == (1.0, 2.5) and grid.iterations == DEFAULT_GRID.iterations


@pytest.mark.parametrize("text", ["factors = [0]", "speed = [1]", "factors = []", "grid = 5", "grid = [1, 2]",
                                  "transform = ['sqrt']", "alpha = ['x']", "factors = [1.5]"])
def test_invalid_grid_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError):
        load_grid(path)


def test_cluster_popularity_joins_the_test_when_clusters_exist() -> None:
    from recommender.training import train

    data = _matrix()
    grid = Grid(factors=(8,), regularization=(0.1,), iterations=(3,), alpha=(10.0,), transform=("log",))
    config = TrainConfig(baselines=("popularity",))
    search = SearchConfig(grid=grid, seconds=None)
    result = train(data, config, search, refit=False)
    assert result is not None and set(result.test) == {"als", "popularity"}
    clusters = np.arange(data.shape[0]) % 3
    with_clusters = train(data, config, search, clusters=clusters, refit=False)
    assert with_clusters is not None
    assert set(with_clusters.test) == {"als", "popularity", "cluster_popularity"}
    assert 0 <= with_clusters.test["cluster_popularity"]["ndcg@10"] <= 1
