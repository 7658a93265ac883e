"""`recommend train`, `recommend models`, `recommend evaluate`: options in, library calls, tables out."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recommender.cli.options import console, data_options, items_options, list_of, parse_bool, resolve
from recommender.errors import RecommenderError
from recommender.evaluation.spaces import SEARCHABLE, WEIGHT_RANGE
from recommender.models.factory import BASELINES

if TYPE_CHECKING:
    from recommender.data.events import EventWeights
    from recommender.data.interactions import Interactions
    from recommender.data.sources import Source
    from recommender.registry import ModelCard
    from recommender.training import TrainResult

__all__ = ["evaluate", "models", "train"]


def _source(interactions: Path | None, **columns: Any) -> Source:
    if interactions is None:
        return None
    from recommender.data.files import FileSpec

    return FileSpec(path=str(interactions), **columns)


def _load(source: Source, weights: EventWeights, url: str, filters: dict[str, Any],
          kinds: bool = False, times: bool = False) -> tuple[Interactions, Any]:
    """The interactions and, when they come from the store, its users' clusters (else None);
    `times` for a temporal split."""
    from recommender.data.sources import load_interactions

    if source is not None:
        return load_interactions(source, weights, kinds=kinds, **filters), None
    from recommender.data.store import StoreReader

    store = StoreReader.open(url)
    try:
        data = load_interactions(None, weights, store=store, kinds=kinds, times=times, **filters)
        return data, store.cluster_labels(data.user_ids)
    finally:
        store.close()


def _writable_file(path: Path | None) -> None:
    """Refuse an output path whose folder is missing or read-only before any work is done."""
    if path is None:
        return
    if not path.parent.is_dir():
        raise RecommenderError(f"cannot write {path}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise RecommenderError(f"cannot write {path}: the folder {path.parent} is not writable")


@click.command()
@data_options
@items_options
@click.option("--budget", type=float, default=120.0, show_default=True, metavar="SECONDS",
              help="Time for the search (trials running at its end are pruned at their next checkpoint).")
@click.option("--trials", type=click.IntRange(1), default=None,
              help="Stop after this many trials (with one worker and a seed: the same result anywhere).")
@click.option("--families", callback=list_of(str), default=",".join(SEARCHABLE), show_default=True,
              help="Model families to tune: als, itemknn, ease, popularity.")
@click.option("--baselines", callback=list_of(str), default=",".join(BASELINES), show_default=True,
              help="Baselines the kept model must beat on validation (with the store's clusters, cluster "
                   "popularity too); 'none' keeps the best of --families alone.")
@click.option("--tune-weights", is_flag=True,
              help="Also learn the event weights (each status, the favourite bonus), "
                   f"from {WEIGHT_RANGE[0]:g} to {WEIGHT_RANGE[1]:g}.")
@click.option("--save-weights", type=click.Path(path_type=Path), default=None,
              help="Write the weights the model was trained with to this TOML file (what --weights reads).")
@click.option("--grid", "grid_file", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Search an exhaustive grid of ALS instead: the default one, or one from a TOML file.")
@click.option("--prune", is_flag=True, help="With --grid: stop hopeless fits early (successive halving).")
@click.option("--factors", callback=list_of(int), help="Grid axis: comma-separated values.")
@click.option("--regularization", callback=list_of(float), help="Grid axis: comma-separated values.")
@click.option("--iterations", callback=list_of(int), help="Grid axis: comma-separated values.")
@click.option("--alpha", callback=list_of(float), help="Grid axis: comma-separated values.")
@click.option("--transform", callback=list_of(str), help="Grid axis: linear and/or log.")
@click.option("--bm25", callback=list_of(parse_bool), help="Grid axis: true and/or false.")
@click.option("--storage", default=None, metavar="URL",
              help="Share the search with other workers through this database (e.g. postgresql+psycopg://...).")
@click.option("--study", default=None, metavar="NAME", help="The shared study's name (with --storage).")
@click.option("--split", "split_method", type=click.Choice(["holdout", "leave-k-out", "temporal"]),
              default="holdout", show_default=True)
@click.option("--test-fraction", type=float, default=0.2, show_default=True)
@click.option("--val-fraction", type=float, default=0.2, show_default=True)
@click.option("--leave-k", type=click.IntRange(1), default=1, show_default=True)
@click.option("-k", "--k", "k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--eval-users", type=click.IntRange(0), default=50_000, show_default=True,
              help="Score validation and test on a seeded sample of at most N users (0: every user).")
@click.option("--workers", type=click.IntRange(0), default=None,
              help="Trials at once (default: 1 for a budgeted search, one per core for a grid).")
@click.option("--results", type=click.Path(path_type=Path), default=None,
              help="Also write every configuration's validation figures (CSV) here.")
@click.option("--heatmap", type=click.Path(path_type=Path), default=None,
              help="Also write the grid's heatmap PNG here.")
@click.option("--no-save", is_flag=True, help="Evaluate only; save no model.")
@click.option("--engine", type=click.Choice(["implicit", "spark"]), default="implicit", show_default=True,
              help="Who fits ALS: implicit, here (the search), or Spark MLlib (one configuration: ALS's "
                   "defaults or one value per axis option; the baselines as ever).")
@click.option("--spark-master", default=None, metavar="URL",
              help="With --engine spark: local[*] (the default), spark://host:7077, yarn or k8s://https://host:443.")
@click.option("--export", "export_dir", type=click.Path(path_type=Path), default=None,
              help="With --engine spark: the confidence matrix's Parquet export, written once and reused "
                   "(default: MODEL_DIR/export; on a cluster, a folder every executor sees).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def train(database_url: str | None, interactions: Path | None, user_col: str, item_col: str,
          weight_col: str | None, status_col: str | None, time_col: str | None,
          weights_file: Path | None, min_user_items: int, min_item_users: int,
          model_dir: Path | None, items_file: Path | None, items_key_col: str | None, title_col: str,
          budget: float, trials: int | None,
          families: tuple[str, ...], baselines: tuple[str, ...],
          tune_weights: bool, save_weights: Path | None, grid_file: str | None, prune: bool,
          storage: str | None, study: str | None, split_method: str,
          test_fraction: float, val_fraction: float, leave_k: int, k: int, seed: int, eval_users: int,
          workers: int | None, results: Path | None, heatmap: Path | None, no_save: bool,
          engine: str, spark_master: str | None, export_dir: Path | None, as_json: bool, **axes: Any) -> None:
    """Find the best model on validation, test it against every family and baseline, save it.

    \b
    By default a budgeted search (Optuna's TPE, Hyperband pruning) tunes ALS, item-kNN, EASE and
    popularity within --budget seconds; the best on validation is refitted on all the data and
    saved, whichever family it is. --grid searches an exhaustive grid of ALS instead.

    \b
    A weights file (--weights reads what --save-weights writes) sets Kitsu's statuses and
    favorite; statuses of other data go under [weights.extra]. A weight may be negative: it
    counts against the other events of its pair, and a pair summing to 0 or less is left out.
        [weights]
        completed = 6.0
        dropped = -1.0
        favorite = 5.0
        [weights.extra]
        rewatching = 4.0
    """
    from recommender.cli.progress import SearchView
    from recommender.data.events import load_weights
    from recommender.data.files import load_titles
    from recommender.data.sources import describe_source
    from recommender.engines.master import DEFAULT_MASTER
    from recommender.engines.spark_training import SparkSettings, check_spark, train_on_spark_and_save
    from recommender.evaluation.grid import Grid, load_grid
    from recommender.evaluation.spaces import DEFAULTS
    from recommender.evaluation.study import check_apart, connect_storage, open_study
    from recommender.evaluation.tuning import SearchConfig
    from recommender.protocol import TrainConfig
    from recommender.registry import check_writable
    from recommender.training import identity, train_and_save
    from recommender.training import train as train_only

    url, directory = resolve(database_url, model_dir)
    if engine != "spark" and (spark_master is not None or export_dir is not None):
        raise RecommenderError("--spark-master and --export are options of --engine spark")
    weights = load_weights(weights_file)
    grid = None
    if grid_file is not None or any(v is not None for v in axes.values()):
        if grid_file is None:  # axis options alone: a grid around ALS's defaults
            base = Grid.single(DEFAULTS["als"])
        else:
            base = load_grid(grid_file) if grid_file else Grid()
        grid = base.override(**axes)
    if storage is None and study is not None:
        raise RecommenderError("--study names a shared study: give its --storage URL too")
    check_apart(storage, url)
    if not no_save:  # the options are sound: now the folders
        check_writable(directory)
    for path in (results, heatmap, save_weights):
        _writable_file(path)
    if workers is None:
        workers = (os.cpu_count() or 1) if grid is not None else 1
    search = SearchConfig(families=families, seconds=None if grid is not None else budget, trials=trials,
                          grid=grid, prune=prune if grid is not None else True, tune_weights=tune_weights,
                          storage=storage, study=study, seed=seed, workers=workers or os.cpu_count() or 1)
    spark = SparkSettings(export_dir or directory / "export", spark_master) if engine == "spark" else None
    if spark is not None:  # a search asked for, pyspark, Java, the master, the export: before the data is read
        check_spark(spark, search)
    source = _source(interactions, user_col=user_col, item_col=item_col, weight_col=weight_col,
                     status_col=status_col, time_col=time_col)
    if items_file is not None and source is None:
        raise RecommenderError("--items names the items of an --interactions file: the store has its own titles")
    titles = load_titles(items_file, items_key_col or item_col, title_col) if items_file is not None else None
    if tune_weights and source is not None and not status_col:
        raise RecommenderError("learning event weights needs statuses: give a --status-col (or train on the store)")
    storage = connect_storage(search)
    filters = {"min_user_items": min_user_items, "min_item_users": min_item_users}
    read_at = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the store keeps times
    reading = time.perf_counter()
    data, clusters = _load(source, weights, url, filters, kinds=tune_weights, times=split_method == "temporal")
    read_seconds = time.perf_counter() - reading
    baselines = () if baselines == ("none",) else baselines
    clusters = clusters if baselines else None
    config = TrainConfig(k=k, split=split_method, test_fraction=test_fraction,
                         val_fraction=val_fraction, leave_k=leave_k, seed=seed, workers=search.workers,
                         eval_users=eval_users or None, baselines=baselines)
    study_ = open_study(search, identity(data, config, search), storage)
    out = console()
    what = f"grid of {grid.size()} configurations ({len(grid.fits())} fits)" if grid is not None else \
        f"{', '.join(search.families)} for {budget:g} s" + (f" or {trials} trials" if trials else "")
    doing = f"searching {what}" if engine == "implicit" else \
        f"fitting ALS with Spark on {spark_master or DEFAULT_MASTER}"
    out.print(f"data: {data.describe()}; {doing}")
    card = None
    with SearchView(out, seconds=search.seconds, trials=trials or (len(grid.fits()) if grid else None),
                    show=not as_json and engine == "implicit") as view:
        if spark is not None:
            card, result = train_on_spark_and_save(
                data, config, search, spark, None if no_save else directory, weights=weights,
                source=describe_source(source, url, read_at), filters=filters, clusters=clusters, titles=titles)
        elif no_save:
            result = train_only(data, config, search, refit=False, clusters=clusters, study=study_,
                                on_trial=view.on_trial)
        else:
            card, result = train_and_save(data, config, search, directory, weights=weights,
                                          source=describe_source(source, url, read_at), filters=filters,
                                          clusters=clusters, study=study_, on_trial=view.on_trial, titles=titles)
    if result is None:
        out.print(f"this worker's trials are done ({view.summary()}); the last worker of study "
                  f"{search.study or 'recommend'} tests and saves the best")
        return
    _report(out, result, k, card, directory, view.summary() if engine == "implicit" else "Spark, one configuration")
    _write_outputs(result, k, results, heatmap, save_weights, card.weights if card else weights)
    if as_json:
        click.echo(json.dumps({"family": result.family, "params": result.params, "weights": result.weights,
                               "validation": result.validation, "test": result.test,
                               "families": result.families, "margin": result.margin, "search": result.search,
                               "intervals": result.intervals, "margin_test": result.margin_test,
                               "version": card.version if card else None,
                               "data": {"shape": list(data.shape), "nnz": data.nnz},
                               "timings": {"read_seconds": read_seconds, **result.timings}}, indent=2, default=str))


def _report(out: Any, result: TrainResult, k: int, card: ModelCard | None, directory: Path, searched: str) -> None:
    from recommender.cli.tables import families_table, margin_line, metrics_table, top_table

    seconds = result.timings
    out.print(f"search: {searched} (search {seconds['search_seconds']:.0f} s, tests {seconds['test_seconds']:.0f} s, "
              f"refit {seconds['refit_seconds']:.0f} s)")
    out.print(top_table(result.rows, k))
    out.print(families_table(result.families, result.family, k, result.intervals))
    out.print(metrics_table(result.test, "test (each family's best refitted on train + validation)",
                            result.intervals.get("test")))
    out.print(margin_line(result.family, result.margin, result.margin_test))
    if card is not None:
        out.print(f"saved model {card.version} in {directory}")


def _write_outputs(result: TrainResult, k: int, results: Path | None, heatmap: Path | None,
                   save_weights: Path | None, weights: EventWeights) -> None:
    from kitsu_ingest.outputs import written_whole
    from recommender.data.events import weights_toml
    from recommender.reports import draw_heatmap, write_results_csv

    for path, write in ((results, write_results_csv), (heatmap, draw_heatmap)):
        if path is not None:
            with written_whole(path) as partial:
                write(result.rows, k, partial)
    if save_weights is not None:
        with written_whole(save_weights) as partial:
            partial.write_text(weights_toml(weights), encoding="utf-8")


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
    from recommender.registry import read_card, resolve_version
    from recommender.training import reproduce

    url, directory = resolve(database_url, model_dir)
    name = resolve_version(directory, version)
    card = read_card(directory / name)
    source = source_from_dict(card.source)
    if interactions is not None:
        source = _source(interactions, user_col=user_col, item_col=item_col,
                         weight_col=weight_col, status_col=status_col, time_col=time_col)
    weights = load_weights(weights_file) if weights_file else card.weights
    data, clusters = _load(source, weights, url, card.filters, times=card.config.split == "temporal")
    out = console()
    if data.fingerprint() != card.fingerprint:
        out.print(f"[yellow]warning: the data changed since {name} was trained "
                  f"(fingerprint {data.fingerprint()} != {card.fingerprint})[/]")
    figures = reproduce(card, data, clusters)
    if as_json:
        click.echo(json.dumps({"version": name, "params": card.params, "test": figures, "saved": card.test},
                              indent=2))
        return
    out.print(metrics_table(figures, f"{name}: test, reproduced"))
    out.print(metrics_table(card.test, f"{name}: test, as saved"))
    sys.stdout.flush()
