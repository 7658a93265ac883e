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


def test_default_grid_covers_where_als_is_best_at_no_more_cost() -> None:
    # public benchmarks put ALS's best at factors 256, regularization 30, alpha 1, 50 iterations
    # (issue 21): the grid holds it and its neighbours by half-decades, both confidence transforms
    best = {"factors": 256, "regularization": 30.0, "alpha": 1.0, "iterations": 50}
    assert all(value in getattr(DEFAULT_GRID, axis) for axis, value in best.items())
    assert {128, 512} <= set(DEFAULT_GRID.factors) and {10.0, 100.0} <= set(DEFAULT_GRID.regularization)
    assert {0.3, 3.0} <= set(DEFAULT_GRID.alpha) and set(DEFAULT_GRID.transform) == {"linear", "log"}
    assert len(DEFAULT_GRID.fits()) == 144 and DEFAULT_GRID.size() == 432

    def cost(grid: Grid) -> int:  # an ALS iteration costs about factors squared
        return sum(fit["factors"] ** 2 * fit["iterations"] for fit in grid.fits())

    decades = load_grid(Path(__file__).parents[2] / "bench" / "grid_decades.toml")  # the grid before
    assert len(decades.fits()) == 108 and 256 not in decades.factors and 30 not in decades.regularization
    assert cost(DEFAULT_GRID) < 0.7 * cost(decades)


def test_grid_file(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text("[grid]\nfactors = [8, 16]\nregularization = 1\nalpha = [1, 2.5]\n")
    grid = load_grid(path)
    assert grid.factors == (8, 16) and grid.regularization == (1.0,)
    assert grid.alpha == (1.0, 2.5) and grid.iterations == DEFAULT_GRID.iterations


@pytest.mark.parametrize("text", ["factors = [0]", "speed = [1]", "factors = []", "grid = 5", "grid = [1, 2]",
                                  "transform = ['sqrt']", "alpha = ['x']", "factors = [1.5]", "factors = 100000",
                                  "iterations = 1001", "regularization = 0", "alpha = 1e7"])
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


@pytest.fixture
def plays(tmp_path: Path) -> Path:
    path = tmp_path / "plays.csv"
    data = _matrix()
    rows, cols = data.matrix.nonzero()
    pd.DataFrame({"user": rows, "item": cols, "plays": data.matrix.data}).to_csv(path, index=False)
    return path


def _grid_cli(plays: Path, tmp_path: Path, *axes: str) -> tuple[int, str]:
    """(exit code, the error line) of a grid search; nothing saved."""
    from tests.recommender.conftest import run_recommend

    code, _, err = run_recommend("train", "--interactions", str(plays), "--weight-col", "plays", "--grid",
                                 "--regularization", "1", "--alpha", "1", "--iterations", "2", "--transform", "log",
                                 "--model-dir", str(tmp_path / "m"), *axes)
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return code, errors[0]


def test_an_axis_out_of_bounds_is_one_line(plays: Path, tmp_path: Path) -> None:
    code, err = _grid_cli(plays, tmp_path, "--factors", "100000")
    assert code == 2
    assert "grid axis 'factors' has invalid value 100000 (factors: whole numbers from 1 to 4096)" in err


def test_a_grid_that_cannot_fit_in_memory_is_refused_before_any_fit(plays: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender.evaluation import tuning

    fitted: list[int] = []
    monkeypatch.setattr(ALS, "fit", lambda self, *a, **k: fitted.append(1))
    monkeypatch.setattr(tuning, "available_memory", lambda: 100 << 20)  # 100 MiB
    code, err = _grid_cli(plays, tmp_path, "--factors", "8,4096", "--workers", "2")
    assert code == 2 and not fitted, err
    assert "ALS with 4,096 factors on 80 users x 60 items needs about 0.2 GiB a fit, 2 at once, but 0.1 GiB " \
           "is available: use fewer --factors or --workers" in err
    # what it counts: the factors twice and the factors x factors normal equations three times
    assert tuning.als_fit_bytes((80, 60), 1000, 4096) > 4 * (2 * 140 * 4096 + 3 * 4096**2)


def test_running_out_of_memory_in_a_fit_is_one_line(plays: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def greedy(self: ALS, *args: object, **kwargs: object) -> ALS:
        np.zeros((1 << 40, 1 << 20), np.float32)  # numpy's _ArrayMemoryError, at once
        return self

    monkeypatch.setattr(ALS, "fit", greedy)
    code, err = _grid_cli(plays, tmp_path, "--factors", "8")
    assert code == 2
    assert "out of memory fitting ALS with 8 factors on 80 users x 60 items: use fewer --factors" in err
