"""`recommend refresh`: fold the users a crawl changed into a new model version, without retraining."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from kitsu_ingest.terminal import terminal_text
from recommender.cli.options import model_options, resolve
from recommender.errors import RecommenderError

__all__ = ["refresh"]


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise RecommenderError(f"--since {value!r} is not a date or time: give e.g. 2026-11-20 or "
                               "2026-11-20T12:00:00Z") from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


@click.command("refresh")
@model_options
@click.option("--since", callback=_since, default=None, metavar="TIME",
              help="Fold in users changed after this UTC time (default: when the model's data was read).")
@click.option("--interactions", type=click.Path(path_type=Path), default=None,
              help="A model trained on a file: the updated file (default: the file it was trained on), read "
                   "with the columns it was trained with.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def refresh(version: str | None, model_dir: Path | None, database_url: str | None, since: datetime | None,
            interactions: Path | None, as_json: bool) -> None:
    """Fold users whose libraries changed since the model was trained into a new version.

    Run it after `kitsu-ingest crawl --since ...`: each changed user is folded in again from
    today's store (new users are added), the rest of the model stays as trained: ALS solves their
    factors with the anime factors fixed; item-kNN and EASE take their new rows. Anime new to the
    site wait for the next `recommend train`. Popularity models cannot be refreshed.

    A model trained on a file is refreshed from the updated file: the users whose rows changed
    and the file's new users are folded in (no store is read).
    """
    from recommender.data.store import StoreReader
    from recommender.registry import read_card, resolve_version
    from recommender.serving.refresh import refresh as run
    from recommender.serving.refresh import refresh_file

    url, directory = resolve(database_url, model_dir)
    on_stage = None if as_json else lambda name: click.echo(f"  {name} done", err=True)
    if read_card(directory / resolve_version(directory, version)).source.get("kind") == "file":
        if since is not None:
            raise RecommenderError("--since is for a store's model: a file model is refreshed from the updated file")
        report = refresh_file(directory, interactions, version=version, on_stage=on_stage)
    elif interactions is not None:
        raise RecommenderError("--interactions refreshes a model trained on a file; this one was trained on the store")
    else:
        store = StoreReader.open(url)
        try:
            report = run(directory, store, url, version=version, since=since, on_stage=on_stage)
        finally:
            store.close()
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    if report.version is None:
        click.echo(f"nothing changed since {terminal_text(report.since)}: model {report.base} is current")
        return
    click.echo(f"refreshed {report.base} -> {report.version}: {report.refolded:,} users folded in again, "
               f"{report.appended:,} new users added ({report.changed_users:,} changed since "
               f"{terminal_text(report.since)})")
    if report.new_anime:
        click.echo(f"{report.new_anime:,} anime are new since the model was trained: they wait for the next "
                   "`recommend train`")
    click.echo(f"time: {sum(report.seconds.values()):.1f} s "
               f"({', '.join(f'{k} {v:.1f} s' for k, v in report.seconds.items())})")
