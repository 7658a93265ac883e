"""Recommender benchmarks: quality vs popularity, grid-search speed, trainer overhead.

    python bench/bench_recommender.py quality  [--interactions FILE ... | --database-url URL]
    python bench/bench_recommender.py speed    [same]   (4 factors x 4 reg x 4 iterations x 3 alpha)
    python bench/bench_recommender.py overhead [same]

Defaults to the Last.fm HetRec file (weight = play count) in ../shared/data.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

DEFAULT_FILE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / \
    "lastfm-hetrec2011-2k" / "user_artists.dat"


def _load(interactions: Path | None, user_col: str, item_col: str, weight_col: str | None,
          status_col: str | None, database_url: str | None):  # type: ignore[no-untyped-def]
    from recommender.data.files import FileSpec
    from recommender.data.sources import load_interactions
    from recommender.data.store import StoreReader

    if database_url:
        return load_interactions(None, store=StoreReader.open(database_url))
    path = interactions or DEFAULT_FILE
    if interactions is None:
        user_col, item_col, weight_col = "userID", "artistID", "weight"
    return load_interactions(FileSpec(str(path), user_col, item_col, weight_col, status_col))


@click.group()
@click.option("--interactions", type=click.Path(path_type=Path), default=None)
@click.option("--user-col", default="user")
@click.option("--item-col", default="item")
@click.option("--weight-col", default=None)
@click.option("--status-col", default=None)
@click.option("--database-url", default=None)
@click.pass_context
def main(ctx: click.Context, **source: object) -> None:
    """Recommender benchmarks."""
    ctx.obj = _load(**source)  # type: ignore[arg-type]
    click.echo(f"data: {ctx.obj.describe()}", err=True)


@main.command()
@click.option("--ratio", type=float, default=2.5, help="Goal: ALS NDCG@10 / popularity's.")
@click.pass_obj
def quality(data, ratio: float) -> None:  # type: ignore[no-untyped-def]
    """Per-user 80/20 split (validation carved from the 80 for the search): ALS vs baselines."""
    from recommender.evaluation.grid import Grid
    from recommender.evaluation.tuning import SearchConfig
    from recommender.training import TrainConfig, train

    grid = Grid(factors=(32, 64, 128), regularization=(0.3, 3.0, 30.0), iterations=(10, 20, 35),
                alpha=(1.0, 10.0), transform=("linear", "log"), bm25=(False, True))
    started = time.perf_counter()
    result = train(data, TrainConfig(k=10, test_fraction=0.2, val_fraction=0.2),
                   SearchConfig(grid=grid, seconds=None, workers=2), refit=False)
    assert result is not None
    test = result.test
    achieved = test["als"]["ndcg@10"] / test["popularity"]["ndcg@10"]
    click.echo(json.dumps({"params": result.params, "test": test, "als_over_popularity": achieved,
                           "goal": ratio, "met": achieved >= ratio,
                           "seconds": time.perf_counter() - started}, indent=2))


SPEED_GRID = {"factors": (16, 32, 64, 128), "regularization": (0.01, 0.1, 1.0, 10.0),
              "iterations": (5, 10, 20, 50), "alpha": (1.0, 10.0, 40.0),
              "transform": ("log",), "bm25": (False,)}


@main.command()
@click.option("--skip-naive", is_flag=True)
@click.pass_obj
def speed(data, skip_naive: bool) -> None:  # type: ignore[no-untyped-def]
    """Our search vs a naive loop fitting each of the 192 configurations from scratch."""
    from recommender.data.events import apply_confidence
    from recommender.evaluation.evaluator import evaluate
    from recommender.evaluation.grid import Grid
    from recommender.evaluation.study import open_study
    from recommender.evaluation.tuning import SearchConfig, run_search
    from recommender.models.als import ALS
    from recommender.training import TrainConfig, context_for

    grid = Grid(**SPEED_GRID)  # type: ignore[arg-type]
    search = SearchConfig(grid=grid, seconds=None, prune=False, workers=2)
    context = context_for(data, TrainConfig(), search)
    split, eval_set = context.split, context.eval_set
    started = time.perf_counter()
    rows = run_search(context, search, open_study(search, {}))
    ours = time.perf_counter() - started
    out = {"configurations": len(rows), "ours_seconds": ours}
    if not skip_naive:
        confidence = apply_confidence(split.train, "log")
        started = time.perf_counter()
        for params in grid.fits():
            for n in grid.iterations:
                model = ALS.from_params({**params, "iterations": n}).fit(confidence)
                evaluate(model, eval_set, 10)
        naive = time.perf_counter() - started
        out.update(naive_seconds=naive, ratio=ours / naive)
    click.echo(json.dumps(out, indent=2))


@main.command()
@click.option("--repeats", type=int, default=5)
@click.pass_obj
def overhead(data, repeats: int) -> None:  # type: ignore[no-untyped-def]
    """One configuration through ALS.fit (with checkpoints) vs implicit called directly on the same matrix."""
    import statistics

    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from recommender.data.events import apply_confidence
    from recommender.models.als import ALS

    matrix = apply_confidence(data.matrix, "log")
    params = {"factors": 64, "regularization": 1.0, "alpha": 10.0, "iterations": 20}
    direct, ours = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        with threadpool_limits(1, "blas"):
            AlternatingLeastSquares(**params, random_state=0).fit(matrix, show_progress=False)
        direct.append(time.perf_counter() - started)
        started = time.perf_counter()
        ALS.from_params(params).fit(matrix, checkpoints=(5, 10, 15, 20), on_checkpoint=lambda *a: None)
        ours.append(time.perf_counter() - started)
    d, o = statistics.median(direct), statistics.median(ours)
    click.echo(json.dumps({"direct_seconds": d, "ours_seconds": o, "overhead": o / d - 1},
                          indent=2))


if __name__ == "__main__":
    main()
