"""`recommend user`, `recommend similar`, `recommend batch`, `recommend serve`: thin wrappers over
`recommender.serving`. Plain-text output (no rich): `recommend user` runs from a cold shell in well
under a second and a half."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kitsu_ingest.terminal import terminal_text
from recommender.cli.options import model_options, resolve
from recommender.errors import RecommenderError

if TYPE_CHECKING:
    from recommender.data.store import StoreReader
    from recommender.serving.recommender import Recommendation, Recommender

__all__ = ["batch", "serve", "similar", "user"]

# One user's scores are a matrix-vector product: BLAS threads only cost their start-up.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _store(url: str) -> StoreReader:
    from recommender.data.store import StoreReader

    return StoreReader.open(url)


def _recommender(database_url: str | None, model_dir: Path | None, version: str | None) -> Recommender:
    """The model with its catalogue: the store only for a model trained on the store."""
    from recommender.registry import load_model
    from recommender.serving.catalogue import catalogue_for
    from recommender.serving.recommender import Recommender

    url, directory = resolve(database_url, model_dir)
    saved = load_model(directory, version)
    return Recommender(saved, catalogue_for(saved, None if saved.from_file else _store(url)))


def _line(rank: int, item: Recommendation, from_file: bool) -> str:
    missing = "(no name)" if from_file else f"(anime {item.anime_id} is not in the store)"
    title = terminal_text(item.title) if item.title is not None else missing
    return f"{rank:>3}  {terminal_text(item.anime_id):>7}  {item.score:>9.4f}  {item.subtype or '-':<8} {title}"


def _print_items(items: list[Recommendation], from_file: bool, score: str = "score") -> None:
    click.echo(f"{'#':>3}  {'anime' if not from_file else 'item':>7}  {score:>9}  {'subtype':<8} title")
    for rank, item in enumerate(items, 1):
        click.echo(_line(rank, item, from_file))
        if item.because:
            reasons = ", ".join(f"{terminal_text(c.title or c.anime_id)} ({c.score:+.3f})" for c in item.because)
            click.echo(f"{'':>24}because of: {reasons}")


@click.command("user")
@click.argument("user_id")
@click.option("-n", "n", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many anime.")
@model_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--explain", is_flag=True, help="Show which of the user's anime drove each one.")
@click.option("--include-planned", is_flag=True,
              help="Allow anime the user only planned to watch back in.")
@click.option("--fetch", is_flag=True, help="Crawl a user missing from the store first.")
@click.option("--emulator", is_flag=True, help="With --fetch: crawl an in-process emulator.")
@click.option("--emulator-users", type=click.IntRange(min=1), default=20_000, show_default=True)
@click.option("--emulator-seed", type=int, default=7, show_default=True)
def user(user_id: str, n: int, version: str | None, model_dir: Path | None,
         database_url: str | None, as_json: bool, explain: bool, include_planned: bool,
         fetch: bool, emulator: bool, emulator_users: int, emulator_seed: int) -> None:
    """Recommend N anime for Kitsu user USER_ID, never one already in their library or favourites.

    \b
    A user the model has not seen is folded in from the store (no retraining); with --fetch a
    user missing from the store is crawled first; a user with no interactions gets popular anime.
    For a model trained on a file, USER_ID is the file's user key and what they already have is
    their rows of the file (the model carries them; no store is read).
    """
    from recommender.serving.recommender import FALLBACK, FOLDED_IN, NotFound

    recommender = _recommender(database_url, model_dir, version)
    if fetch and recommender.saved.from_file:
        raise RecommenderError(f"--fetch crawls Kitsu users into the store, and model {recommender.version} "
                               "was trained on a file: it answers from the file's users alone")
    key = recommender.user_key(user_id)
    try:
        result = recommender.user(key, n, include_planned=include_planned, explain=explain)
    except NotFound:
        if not fetch:
            raise
        from kitsu_ingest.kitsu.config import ApiConfig
        from kitsu_ingest.settings import get_settings
        from kitsu_ingest.store.migrate import open_store
        from recommender.serving.fetch import fetch_user

        click.echo(f"fetching user {key}...", err=True)
        settings = get_settings(database_url=database_url)
        api = ApiConfig.from_settings(settings, emulator=(emulator_users, emulator_seed) if emulator else None)
        engine = open_store(settings.database_url)
        try:
            fetch_user(engine, api, int(key))
        finally:
            engine.dispose()
        result = recommender.user(key, n, include_planned=include_planned, explain=explain)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    how = {FOLDED_IN: ", folded in from the store",
           FALLBACK: ": no interactions to go on, so popular anime (fallback)"}
    click.echo(f"user {terminal_text(key)}, model {result.version}{how.get(result.source, '')}")
    if not result.items:
        click.echo("nothing left to recommend")
        return
    _print_items(result.items, recommender.saved.from_file, "users" if result.source == FALLBACK else "score")


@click.command("similar")
@click.argument("anime", nargs=-1, required=True)
@click.option("-n", "n", type=click.IntRange(1, 1000), default=10, show_default=True)
@model_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def similar(anime: tuple[str, ...], n: int, version: str | None, model_dir: Path | None,
            database_url: str | None, as_json: bool) -> None:
    """The anime most similar to ANIME (a Kitsu id, or words of its title), by cosine similarity."""
    recommender = _recommender(database_url, model_dir, version)
    result = recommender.similar(" ".join(anime), n)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    from_file = recommender.saved.from_file
    title = terminal_text(result.anime.title) if result.anime.title else \
        "(no name)" if from_file else "(not in the store)"
    click.echo(f"similar to {title} ({'item' if from_file else 'anime'} {terminal_text(result.anime.id)}), "
               f"model {result.version}")
    _print_items(result.items, from_file, "cosine")


@click.command("batch")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Parquet file to write.")
@click.option("-n", "n", type=click.IntRange(1, 1000), default=10, show_default=True)
@model_options
@click.option("--include-planned", is_flag=True, help="Allow planned-only anime back in.")
@click.option("--no-exclude", is_flag=True,
              help="Exclude nothing (a store's model then reads no store).")
@click.option("--threads", type=click.IntRange(0), default=0, help="Worker threads (0: per core).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def batch(out: Path, n: int, version: str | None, model_dir: Path | None,
          database_url: str | None, include_planned: bool, no_exclude: bool, threads: int, as_json: bool) -> None:
    """Top N for every user of the model, to a Parquet file (user_id, rank, anime_id, score).

    What each user already has is left out: their library and favourites in the store, or, for a
    model trained on a file, their rows of the file (which the model carries).
    """
    import time

    from recommender.registry import load_model
    from recommender.serving.batch import exclusions_from_history, exclusions_from_store, recommend_all

    url, directory = resolve(database_url, model_dir)
    saved = load_model(directory, version)
    exclusions, read = None, 0.0
    if saved.from_file and not no_exclude:
        exclusions = exclusions_from_history(saved)
    elif not no_exclude:
        started = time.perf_counter()
        store = _store(url)
        try:
            exclusions = exclusions_from_store(store, saved, include_planned)
        finally:
            store.close()
        read = time.perf_counter() - started
    summary = recommend_all(saved, out, n, exclusions, threads=threads)
    if as_json:
        click.echo(json.dumps({"version": saved.version, "users": summary.users, "rows": summary.rows,
                               "seconds": round(summary.seconds, 3), "users_per_s": round(summary.users_per_second),
                               "store_read_seconds": round(read, 3), "out": str(out)}))
        return
    click.echo(f"wrote {summary.rows:,} rows for {summary.users:,} users of model {saved.version} "
               f"to {out} in {summary.seconds:.1f} s ({summary.users_per_second:,.0f} users/s; "
               f"store read {read:.1f} s)", err=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@model_options
@click.option("--reload-interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between checks for a newer model (ignored with --model).")
@click.option("--segments-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports/segments"),
              show_default=True, help="Where `kitsu-ingest segment-users` wrote its plots (its --out-dir).")
def serve(host: str, port: int, version: str | None, model_dir: Path | None,
          database_url: str | None, reload_interval: float, segments_dir: Path) -> None:
    """Serve the dashboard and the HTTP JSON API (model loaded once; a newer saved model is picked up live).

    \b
    GET /            the dashboard: store, models, segments, a user's top N, an anime's similar anime
    GET /docs        the API's docs; GET /openapi.json its OpenAPI document
    GET /users/{id}/recommendations?n=10[&include_planned=true][&explain=true]  (n <= 100 with explain)
    GET /anime/{id}/similar?n=10
    GET /health   200 "ok", or "degraded" while a newer model fails to load; 503 with no model
    """
    from kitsu_ingest.store.engine import describe_url
    from recommender.dashboard import DashboardConfig
    from recommender.data.store import StoreReader
    from recommender.serving.holder import ModelHolder
    from recommender.serving.server import bind, is_loopback, run_server
    from recommender.webapp import create_app

    url, directory = resolve(database_url, model_dir)
    sock = bind(host, port)
    store = StoreReader.open_if_present(url)
    if store is None:  # a server of file models needs no store; a store's model answers 503
        click.echo(f"no store at {describe_url(url)}: models trained on files are served, a store's model "
                   "answers 503", err=True)
    holder = ModelHolder(directory, version, store, interval=reload_interval)
    holder.refresh()
    current = holder.current
    state = f"model {current.version}" if current else f"no model yet ({holder.error})"
    where = f"http://{'[' + host + ']' if ':' in host else host}:{sock.getsockname()[1]}"
    if not is_loopback(host):
        click.echo(f"warning: {host} is reachable from other machines, and this server has no access control: "
                   "anyone who can reach it reads every stored user's library and top N, the model cards and "
                   "the crawl runs (serve on 127.0.0.1 behind a reverse proxy that authenticates)", err=True)
    click.echo(f"serving on {where} with {state}: dashboard at {where}/, API docs at {where}/docs", err=True)
    run_server(create_app(holder, dashboard=DashboardConfig(segments_dir=segments_dir)), sock)
    sys.stderr.flush()
