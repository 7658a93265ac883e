"""The default `recommend train` (budgeted search) against the full `--grid`, on one dataset.

    python bench/bench_tuning.py                                   # Last.fm (../shared/data)
    python bench/bench_tuning.py --database-url sqlite:///data/kitsu.db --budget 120
    python bench/bench_tuning.py --skip-grid --grid-seconds 5400 --grid-ndcg 0.379   # reuse a grid run

Each side runs as `recommend train ... --json` in its own process (whole-process wall time, as a
user sees it), with the same split and seed. Goal: the default reaches >= 97% of the grid's test
NDCG@10 (of the model each keeps) in <= 1/5 of its wall time. Prints one JSON document.
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


def _train(source: list[str], extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as models:
        command = [sys.executable, "-c", "from recommender.cli import main; main()", "train", *source,
                   "--model-dir", models, "--json", *extra]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
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
def main(interactions: Path | None, user_col: str | None, item_col: str | None, weight_col: str | None,
         database_url: str | None, budget: float | None, skip_grid: bool, grid_seconds: float | None,
         grid_ndcg: float | None) -> None:
    """Default search vs full grid: test NDCG@10 and wall time."""
    if database_url:
        source = ["--database-url", database_url]
    else:
        path = interactions or LASTFM
        columns = (user_col or "userID", item_col or "artistID", weight_col or "weight") if interactions is None \
            else (user_col or "user", item_col or "item", weight_col)
        source = ["--interactions", str(path), "--user-col", columns[0], "--item-col", columns[1],
                  *(["--weight-col", columns[2]] if columns[2] else [])]
    default = _train(source, ["--budget", str(budget)] if budget else [])
    if skip_grid:
        grid = {"seconds": grid_seconds, "test_ndcg@10": grid_ndcg, "reused": True}
    else:
        grid = _train(source, ["--grid"])
    quality = default["test_ndcg@10"] / grid["test_ndcg@10"] if grid["test_ndcg@10"] else None
    speed = default["seconds"] / grid["seconds"] if grid["seconds"] else None
    click.echo(json.dumps({"default": default, "grid": grid, "quality_ratio": quality, "time_ratio": speed,
                           "goal": {"quality_ratio": ">= 0.97", "time_ratio": "<= 0.2"},
                           "met": bool(quality and speed and quality >= 0.97 and speed <= 0.2)}, indent=2))


if __name__ == "__main__":
    main()
