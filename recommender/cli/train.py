"""`recommend train`, `recommend models`, `recommend evaluate`: options in, library calls, tables out."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recommender.cli.options import console, data_options, list_of, parse_bool, resolve

if TYPE_CHECKING:
    from recommender.data.events import EventWeights
    from recommender.data.interactions import Interactions
    from recommender.data.sources import Source

__all__ = ["evaluate", "models", "train"]


def _source(interactions: Path | None, **columns: Any) -> Source:
    if interactions is None:
        return None
    from recommender.data.files import FileSpec

    return FileSpec(path=str(interactions), **columns)


def _load(source: Source, weights: EventWeights, url: str, filters: dict[str, Any]) -> tuple[Interactions, Any]:
    """The interactions and, when they come from the store, its users' clusters (else None)."""
    from recommender.data.sources import load_interactions

    if source is not None:
        return load_interactions(source, weights, **filters), None
    from recommender.data.store import StoreReader

    store = StoreReader.open(url)
    try:
        data = load_interactions(None, weights, store=store, **filters)
        return data, store.cluster_labels(data.user_ids)
    finally:
        store.close()


def _writable_file(path: Path | None) -> None:
    """Refuse an output path whose folder is missing or read-only before any work is done."""
    from recommender.errors import RecommenderError

    if path is None:
        return
    if not path.parent.is_dir():
        raise RecommenderError(f"cannot write {path}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise RecommenderError(f"cannot write {path}: the folder {path.parent} is not writable")


@click.command()
@data_options
@click.option("--grid", "grid_file", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Search a grid: the default one, or one from a TOML file.")
@click.option("--factors", callback=list_of(int), help="Comma-separated values.")
@click.option("--regularization", callback=list_of(float), help="Comma-separated values.")
@click.option("--iterations", callback=list_of(int), help="Comma-separated values.")
@click.option("--alpha", callback=list_of(float), help="Comma-separated values.")
@click.option("--transform", callback=list_of(str), help="linear and/or log.")
@click.option("--bm25", callback=list_of(parse_bool), help="true and/or false.")
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

    from kitsu_ingest.outputs import written_whole
    from recommender.cli.tables import metrics_table, top_table
    from recommender.data.events import load_weights
    from recommender.data.sources import describe_source
    from recommender.evaluation.grid import Grid, load_grid
    from recommender.registry import check_writable
    from recommender.reports import draw_heatmap, write_results_csv
    from recommender.training import DEFAULT_PARAMS, TrainConfig, train_and_save
    from recommender.training import train as train_only

    url, directory = resolve(database_url, model_dir)
    if not no_save:
        check_writable(directory)
    for path in (results, heatmap):
        _writable_file(path)
    weights = load_weights(weights_file)
    base = Grid.single(DEFAULT_PARAMS) if grid_file is None else Grid() if grid_file == "" else load_grid(grid_file)
    grid = base.override(**axes)
    source = _source(interactions, user_col=user_col, item_col=item_col, weight_col=weight_col,
                     status_col=status_col, time_col=time_col)
    filters = {"min_user_items": min_user_items, "min_item_users": min_item_users}
    data, clusters = _load(source, weights, url, filters)
    config = TrainConfig(k=k, split=split_method, test_fraction=test_fraction,
                         val_fraction=val_fraction, leave_k=leave_k, seed=seed, workers=workers)
    out = console()
    out.print(f"data: {data.describe()}; grid: {grid.size()} configurations ({len(grid.fits())} fits)")
    card = None
    with Progress(console=out, transient=True) as progress:
        task = progress.add_task("grid search", total=len(grid.fits()))
        on_fit = lambda: progress.advance(task)  # noqa: E731
        if no_save:
            result = train_only(data, grid, config, on_fit=on_fit, refit=False, clusters=clusters)
        else:
            card, result = train_and_save(data, grid, config, directory, weights=weights,
                                          source=describe_source(source, url), filters=filters,
                                          clusters=clusters, on_fit=on_fit)
    out.print(top_table(result.results, k))
    out.print(metrics_table(result.test, "test (ALS refitted on train + validation)"))
    for path, write in ((results, write_results_csv), (heatmap, draw_heatmap)):
        if path is not None:
            with written_whole(path) as partial:
                write(result.results, k, partial)
    if card is not None:
        out.print(f"saved model {card.version} in {directory}")
    if as_json:
        click.echo(json.dumps({"params": result.params, "validation": result.validation,
                               "test": result.test, "version": card.version if card else None,
                               "data": {"shape": list(data.shape), "nnz": data.nnz},
                               "timings": result.timings}, indent=2))


@click.command()
@click.option("--model-dir", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True)
def models(model_dir: Path | None, as_json: bool) -> None:
    """List the saved models (newest last, `*` marks latest)."""
    from rich.console import Console

    from recommender.cli.tables import models_table
    from recommender.registry import list_models

    directory = resolve(model_dir=model_dir)[1]
    saved = list_models(directory)
    if as_json:
        click.echo(json.dumps(saved, indent=2, default=str))
        return
    if not saved:
        click.echo(f"no saved model in {directory}: run `recommend train` first")
        return
    Console().print(models_table(saved, f"models in {directory}"))


@click.command()
@click.argument("version", required=False)
@data_options
@click.option("--json", "as_json", is_flag=True)
def evaluate(version: str | None, database_url: str | None, interactions: Path | None,
             user_col: str, item_col: str, weight_col: str | None, status_col: str | None,
             time_col: str | None, weights_file: Path | None, min_user_items: int,
             min_item_users: int, model_dir: Path | None, as_json: bool) -> None:
    """Reproduce a saved model's test figures (default: latest) from its recorded data and split."""
    from recommender.cli.tables import metrics_table
    from recommender.data.events import load_weights
    from recommender.data.sources import source_from_dict
    from recommender.data.splits import make_split
    from recommender.registry import read_card, resolve_version
    from recommender.training import test_metrics

    url, directory = resolve(database_url, model_dir)
    name = resolve_version(directory, version)
    card = read_card(directory / name)
    source = source_from_dict(card.source)
    if interactions is not None:
        source = _source(interactions, user_col=user_col, item_col=item_col,
                         weight_col=weight_col, status_col=status_col, time_col=time_col)
    weights = load_weights(weights_file) if weights_file else card.weights
    data, clusters = _load(source, weights, url, card.filters)
    out = console()
    if data.fingerprint() != card.fingerprint:
        out.print(f"[yellow]warning: the data changed since {name} was trained "
                  f"(fingerprint {data.fingerprint()} != {card.fingerprint})[/]")
    split = make_split(data, card.config.split, **card.config.split_args())
    figures = test_metrics(split, card.params, card.config, clusters)
    if as_json:
        click.echo(json.dumps({"version": name, "params": card.params, "test": figures, "saved": card.test},
                              indent=2))
        return
    out.print(metrics_table(figures, f"{name}: test, reproduced"))
    out.print(metrics_table(card.test, f"{name}: test, as saved"))
    sys.stdout.flush()
