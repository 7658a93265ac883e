"""`recommend train`, `recommend models`, `recommend evaluate`: thin wrappers over the library."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kitsu_ingest.clikit import database_option

__all__ = ["evaluate", "models", "train"]

# One configuration, used when --grid is not given (axis options still override it).
SINGLE = {"factors": (64,), "regularization": (0.3,), "iterations": (20,), "alpha": (10.0,),
          "transform": ("log",), "bm25": (False,)}


def _list_of(kind: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def parse(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            return tuple(kind(v.strip()) for v in value.split(",") if v.strip())
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a comma-separated list") from None
    return parse


def _bool(text: str) -> bool:
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if text.lower() in ("false", "no", "0", "off"):
        return False
    raise ValueError(text)


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _model_dir(option: Path | None) -> Path:
    from kitsu_ingest.settings import get_settings

    return Path(get_settings(model_dir=option).model_dir)


def _source(interactions: Path | None, **columns: Any) -> dict[str, Any]:
    if interactions is None:
        return {"kind": "store"}
    from recommender.data import FileSpec

    return FileSpec(path=str(interactions), **columns).as_dict()


def data_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Where the interactions come from and how they become strengths."""
    options = [
        database_option,
        click.option("--interactions", type=click.Path(path_type=Path), default=None,
                     help="CSV/TSV/Parquet file of interactions (default: the store)."),
        click.option("--user-col", default="user", show_default=True),
        click.option("--item-col", default="item", show_default=True),
        click.option("--weight-col", default=None, help="Column of strengths (e.g. play counts)."),
        click.option("--status-col", default=None, help="Column of statuses, mapped by weights."),
        click.option("--time-col", default=None, help="Column of times (temporal split)."),
        click.option("--weights", "weights_file", type=click.Path(path_type=Path), default=None,
                     help="TOML file of status/favourite weights."),
        click.option("--min-user-items", type=click.IntRange(1), default=1, show_default=True),
        click.option("--min-item-users", type=click.IntRange(1), default=1, show_default=True),
        click.option("--model-dir", type=click.Path(path_type=Path), default=None,
                     help="Where models are saved (default: MODEL_DIR, else ./models)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.command()
@data_options
@click.option("--grid", "grid_file", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Search a grid: the default one, or one from a TOML file.")
@click.option("--factors", callback=_list_of(int), help="Comma-separated values.")
@click.option("--regularization", callback=_list_of(float), help="Comma-separated values.")
@click.option("--iterations", callback=_list_of(int), help="Comma-separated values.")
@click.option("--alpha", callback=_list_of(float), help="Comma-separated values.")
@click.option("--transform", callback=_list_of(str), help="linear and/or log.")
@click.option("--bm25", callback=_list_of(_bool), help="true and/or false.")
@click.option("--split", "split_method", type=click.Choice(["holdout", "leave-k-out", "temporal"]),
              default="holdout", show_default=True)
@click.option("--test-fraction", type=float, default=0.2, show_default=True)
@click.option("--val-fraction", type=float, default=0.2, show_default=True)
@click.option("--leave-k", type=click.IntRange(1), default=1, show_default=True)
@click.option("-k", "--k", "k", type=click.IntRange(1), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(0), default=0, help="Fits at once (0: per core).")
@click.option("--results", type=click.Path(path_type=Path), default=None,
              help="Also write the results CSV here.")
@click.option("--heatmap", type=click.Path(path_type=Path), default=None,
              help="Also write the heatmap PNG here.")
@click.option("--no-save", is_flag=True, help="Evaluate only; save no model.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def train(database_url: str | None, interactions: Path | None, user_col: str, item_col: str,
          weight_col: str | None, status_col: str | None, time_col: str | None,
          weights_file: Path | None, min_user_items: int, min_item_users: int,
          model_dir: Path | None, grid_file: str | None, split_method: str,
          test_fraction: float, val_fraction: float, leave_k: int, k: int, seed: int,
          workers: int, results: Path | None, heatmap: Path | None, no_save: bool,
          as_json: bool, **axes: Any) -> None:
    """Train ALS (optionally searching a grid), test it against baselines, save the model."""
    from rich.progress import Progress

    from recommender.data import load_source
    from recommender.events import load_weights
    from recommender.grid import Grid, load_grid
    from recommender.registry import check_writable, save_model
    from recommender.report import draw_heatmap, metrics_table, top_table, write_results_csv
    from recommender.train import TrainConfig
    from recommender.train import train as run_training

    console = _console()
    directory = _model_dir(model_dir)
    if not no_save:
        check_writable(directory)
    weights = load_weights(weights_file)
    if grid_file is None:
        grid = Grid(**SINGLE)
    elif grid_file == "":
        grid = Grid()
    else:
        grid = load_grid(grid_file)
    grid = grid.override(**axes)
    source = _source(interactions, user_col=user_col, item_col=item_col, weight_col=weight_col,
                     status_col=status_col, time_col=time_col)
    filters = {"min_user_items": min_user_items, "min_item_users": min_item_users}
    data = load_source(source, weights, database_url=database_url, **filters)
    config = TrainConfig(k=k, split=split_method, test_fraction=test_fraction,
                         val_fraction=val_fraction, leave_k=leave_k, seed=seed, workers=workers)
    console.print(f"data: {data.describe()}; grid: {grid.size()} configurations "
                  f"({len(grid.fits())} fits)")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("grid search", total=len(grid.fits()))
        result = run_training(data, grid, config, on_fit=lambda: progress.advance(task),
                              refit=not no_save, clusters=_clusters(source, data, database_url))
    console.print(top_table(result.results, k))
    console.print(metrics_table(result.test, "test (ALS refitted on train + validation)"))
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = write_results_csv(result.results, k, Path(scratch) / "results.csv")
        png_path = draw_heatmap(result.results, k, Path(scratch) / "heatmap.png")
        for wanted, made in ((results, csv_path), (heatmap, png_path)):
            if wanted is not None:
                wanted.write_bytes(made.read_bytes())
        version = None
        if not no_save and result.model is not None:
            meta = {"params": result.params, "weights": weights.as_dict(),
                    "metrics": {"validation": result.validation, "test": result.test},
                    "fingerprint": data.fingerprint(), "shape": list(data.shape),
                    "nnz": data.nnz, "source": _describe_source(source, database_url),
                    "filters": filters, "config": config.__dict__, "timings": result.timings}
            version = save_model(directory, result.model, data.user_ids, data.item_ids, meta,
                                 {"results.csv": csv_path, "heatmap.png": png_path})
            console.print(f"saved model {version} in {directory}")
    if as_json:
        click.echo(json.dumps({"params": result.params, "validation": result.validation,
                               "test": result.test, "version": version,
                               "data": {"shape": list(data.shape), "nnz": data.nnz},
                               "timings": result.timings}, indent=2))


def _clusters(source: dict[str, Any], data: Any, database_url: str | None) -> Any:
    """Users' clusters from the store's newest segmentation, when the data is the store's."""
    if source["kind"] != "store":
        return None
    from recommender.cluster_popularity import store_clusters

    return store_clusters(data.user_ids, database_url)


def _describe_source(source: dict[str, Any], database_url: str | None) -> dict[str, Any]:
    if source["kind"] != "store":
        return source
    from kitsu_ingest.settings import get_settings
    from kitsu_ingest.store.engine import describe_url

    return {"kind": "store", "url": describe_url(get_settings(database_url=database_url).database_url)}


@click.command()
@click.option("--model-dir", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True)
def models(model_dir: Path | None, as_json: bool) -> None:
    """List the saved models (newest last, `*` marks latest)."""
    from rich.console import Console
    from rich.table import Table

    from recommender.registry import list_models

    directory = _model_dir(model_dir)
    saved = list_models(directory)
    if as_json:
        click.echo(json.dumps(saved, indent=2, default=str))
        return
    if not saved:
        click.echo(f"no saved model in {directory}: run `recommend train` first")
        return
    table = Table(title=f"models in {directory}")
    for column in ("", "version", "created", "users x items", "params", "test ndcg", "vs pop"):
        table.add_column(column)
    for meta in saved:
        k = meta.get("config", {}).get("k", 10)
        test = meta.get("metrics", {}).get("test", {})
        als = test.get("als", {}).get(f"ndcg@{k}", float("nan"))
        pop = test.get("popularity", {}).get(f"ndcg@{k}", float("nan"))
        params = _short_params(meta.get("params", {}))
        table.add_row("*" if meta["latest"] else "", meta["version"], meta.get("created_at", "")[:19],
                      " x ".join(map(str, meta.get("shape", []))), params, f"{als:.4f}",
                      f"{als / pop:.2f}x" if pop else "-")
    Console().print(table)


def _short_params(params: dict[str, Any]) -> str:
    short = {"factors": "f", "regularization": "reg", "alpha": "a", "iterations": "it"}
    parts = [f"{short[key]}={params[key]:g}" for key in short if key in params]
    parts.append(str(params.get("transform", "")) + ("+bm25" if params.get("bm25") else ""))
    return " ".join(parts)


@click.command()
@click.argument("version", required=False)
@data_options
@click.option("--json", "as_json", is_flag=True)
def evaluate(version: str | None, database_url: str | None, interactions: Path | None,
             user_col: str, item_col: str, weight_col: str | None, status_col: str | None,
             time_col: str | None, weights_file: Path | None, min_user_items: int,
             min_item_users: int, model_dir: Path | None, as_json: bool) -> None:
    """Reproduce a saved model's test figures (default: latest) from its recorded data and split."""
    from recommender.data import load_source
    from recommender.events import EventWeights, load_weights
    from recommender.registry import load_model
    from recommender.report import metrics_table
    from recommender.split import make_split
    from recommender.train import TrainConfig, test_metrics

    saved = load_model(_model_dir(model_dir), version)
    meta = saved.meta
    source = dict(meta["source"])
    if interactions is not None:
        source = _source(interactions, user_col=user_col, item_col=item_col,
                         weight_col=weight_col, status_col=status_col, time_col=time_col)
    recorded = dict(meta["weights"])
    favorite = recorded.pop("favorite", 5.0)
    weights = load_weights(weights_file) if weights_file else EventWeights(recorded, favorite)
    data = load_source(source, weights, database_url=database_url, **meta["filters"])
    console = _console()
    if data.fingerprint() != meta["fingerprint"]:
        console.print(f"[yellow]warning: the data changed since {saved.version} was trained "
                      f"(fingerprint {data.fingerprint()} != {meta['fingerprint']})[/]")
    config = TrainConfig(**{**meta["config"], "baselines": tuple(meta["config"]["baselines"])})
    split = make_split(data, config.split, **config.split_args())
    figures = test_metrics(split, meta["params"], config, _clusters(source, data, database_url))
    if as_json:
        click.echo(json.dumps({"version": saved.version, "params": meta["params"],
                               "test": figures, "saved": meta["metrics"]["test"]}, indent=2))
        return
    console.print(metrics_table(figures, f"{saved.version}: test, reproduced"))
    console.print(metrics_table(meta["metrics"]["test"], f"{saved.version}: test, as saved"))
    sys.stdout.flush()
