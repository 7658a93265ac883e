"""The default `recommend train` (budgeted search) against the full `--grid`, on one dataset; and
the default grid against one hand-picked configuration (`--hand`).

    python bench/bench_tuning.py                                   # Last.fm (../shared/data)
    python bench/bench_tuning.py --database-url sqlite:///data/kitsu.db --budget 120
    python bench/bench_tuning.py --skip-grid --grid-seconds 5400 --grid-ndcg 0.379   # reuse a grid run
    python bench/bench_tuning.py --hand --skip-default --timeout 7200   # does the grid cover the hand's region?
    python bench/bench_tuning.py --skip-default --grid-file bench/grid_decades.toml   # the grid before issue 21

Each side runs as `recommend train ... --json` in its own process (whole-process wall time, as a
user sees it), with the same split and seed. Goal: the default reaches >= 97% of the grid's test
NDCG@10 (of the model each keeps) in <= 1/5 of its wall time; with `--hand`, the grid's kept
model reaches the hand configuration's validation NDCG@10 (ALS, factors 256, regularization 30,
alpha 1, 50 iterations, where public benchmarks put ALS's best). Prints one JSON document.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

LASTFM = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lastfm-hetrec2011-2k" / "user_artists.dat"


HAND = ["--grid", "--factors", "256", "--regularization", "30", "--alpha", "1", "--iterations", "50"]
"""The hand configuration, as `recommend train` options (both confidence transforms of the grid)."""


def _so_far(storage: str) -> dict[str, Any]:
    """The best validation figure of a search stopped by the time limit (its study kept every row)."""
    import optuna

    from recommender.evaluation.tuning import rows_of

    rows = rows_of(optuna.load_study(study_name="bench", storage=storage))
    best = max(rows, key=lambda row: row["ndcg@10"], default=None)
    return {"configurations_scored": len(rows), "best_validation_ndcg@10": best and best["ndcg@10"],
            "best_params": best and {k: best[k] for k in ("transform", "factors", "regularization", "alpha",
                                                          "iterations")}}


def _train(source: list[str], extra: list[str], timeout: float | None = None) -> dict[str, Any]:
    """One `recommend train` run; with a `timeout`, in a study of its own, so that a run stopped by
    it still says what it had found."""
    with tempfile.TemporaryDirectory() as models:
        storage = f"sqlite:///{models}/study.db"
        kept = ["--storage", storage, "--study", "bench"] if timeout else []
        command = [sys.executable, "-c", "from recommender.cli import main; main()", "train", *source,
                   "--model-dir", models, "--json", *extra, *kept]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"seconds": time.perf_counter() - started, "timed_out": True, "test_ndcg@10": None,
                    **_so_far(storage)}
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"recommend train failed: {done.stderr.strip().splitlines()[-1:]}")
    report = json.loads(done.stdout)
    return {"seconds": seconds, "family": report["family"], "test_ndcg@10": report["test"][report["family"]]["ndcg@10"],
            "validation_ndcg@10": report["validation"]["ndcg@10"], "params": report["params"],
            "search": report["search"], "test": {k: v["ndcg@10"] for k, v in report["test"].items()}}


@click.command()
@click.option("--interactions", type=click.Path(path_type=Path), default=None)
@click.option("--user-col", default=None)
@click.option("--item-col", default=None)
@click.option("--weight-col", default=None)
@click.option("--database-url", default=None)
@click.option("--budget", type=float, default=None, help="The default search's budget (default: the CLI's).")
@click.option("--skip-grid", is_flag=True, help="Do not run the grid; give its figures instead.")
@click.option("--grid-seconds", type=float, default=None)
@click.option("--grid-ndcg", type=float, default=None)
@click.option("--grid-file", type=click.Path(path_type=Path), default=None,
              help="A grid TOML file instead of the default grid (e.g. an earlier default, to compare).")
@click.option("--hand", is_flag=True, help="Also fit the hand configuration and compare the grid with it.")
@click.option("--skip-default", is_flag=True, help="Do not run the default (budgeted) search.")
@click.option("--timeout", type=float, default=None, help="Seconds each run may take (the grid is the long one).")
def main(interactions: Path | None, user_col: str | None, item_col: str | None, weight_col: str | None,
         database_url: str | None, budget: float | None, skip_grid: bool, grid_seconds: float | None,
         grid_ndcg: float | None, grid_file: Path | None, hand: bool, skip_default: bool,
         timeout: float | None) -> None:
    """Default search vs full grid (and the grid vs the hand configuration): NDCG@10 and wall time."""
    if database_url:
        source = ["--database-url", database_url]
    else:
        path = interactions or LASTFM
        columns = (user_col or "userID", item_col or "artistID", weight_col or "weight") if interactions is None \
            else (user_col or "user", item_col or "item", weight_col)
        source = ["--interactions", str(path), "--user-col", columns[0], "--item-col", columns[1],
                  *(["--weight-col", columns[2]] if columns[2] else [])]
    if skip_grid:
        grid = {"seconds": grid_seconds, "test_ndcg@10": grid_ndcg, "reused": True}
    else:
        grid = _train(source, ["--grid", *([str(grid_file)] if grid_file else [])], timeout)
    out: dict[str, Any] = {"grid": grid}
    if not skip_default:
        default = _train(source, ["--budget", str(budget)] if budget else [], timeout)
        quality = default["test_ndcg@10"] / grid["test_ndcg@10"] if grid["test_ndcg@10"] and \
            default["test_ndcg@10"] else None
        speed = default["seconds"] / grid["seconds"] if grid["seconds"] else None
        out |= {"default": default, "quality_ratio": quality, "time_ratio": speed,
                "goal": {"quality_ratio": ">= 0.97", "time_ratio": "<= 0.2"},
                "met": bool(quality and speed and quality >= 0.97 and speed <= 0.2)}
    if hand:
        picked = _train(source, HAND, timeout)
        covered = grid.get("validation_ndcg@10") is not None and \
            grid["validation_ndcg@10"] >= picked["validation_ndcg@10"]
        out |= {"hand": picked, "grid_covers_hand": covered}
    click.echo(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
