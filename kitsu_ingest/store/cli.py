"""`kitsu-ingest db ...` and `kitsu-ingest stats`."""

from __future__ import annotations

import json

import click

from kitsu_ingest.clikit import database_option
from kitsu_ingest.settings import get_settings
from kitsu_ingest.store import migrate
from kitsu_ingest.store.engine import describe_url, make_engine
from kitsu_ingest.store.stats import store_stats

__all__ = ["db", "stats"]


@click.group()
def db() -> None:
    """Create and migrate the store's schema."""


@db.command()
@database_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(database_url: str | None, revision: str) -> None:
    """Create the tables, or migrate them to the newest schema."""
    engine = make_engine(get_settings(database_url=database_url).database_url)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    where = describe_url(engine.url)
    if before == after:
        click.echo(f"{where} is already at schema {after}")
    else:
        click.echo(f"{where}: schema {before or 'empty'} -> {after}")


@db.command()
@database_option
@click.option("--revision", default="base", show_default=True, help="Target revision.")
@click.confirmation_option(prompt="This drops tables and the data in them. Go on?")
def downgrade(database_url: str | None, revision: str) -> None:
    """Migrate the schema down (to `base`: drop every table)."""
    engine = make_engine(get_settings(database_url=database_url).database_url)
    migrate.downgrade(engine, revision)
    click.echo(f"{describe_url(engine.url)}: schema now {migrate.current_revision(engine) or 'empty'}")


@db.command()
@database_option
def current(database_url: str | None) -> None:
    """Show the database's schema revision and the newest one."""
    engine = make_engine(get_settings(database_url=database_url).database_url)
    now, head = migrate.current_revision(engine), migrate.head_revision()
    if now == head:
        state = "up to date"
    elif now is not None and not migrate.is_known_revision(now):
        state = "newer than this kitsu-recs: upgrade kitsu-recs"
    else:
        state = "behind: run `kitsu-ingest db upgrade`"
    click.echo(f"{describe_url(engine.url)}: schema {now or 'empty'}, newest {head} ({state})")


@click.command()
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def stats(database_url: str | None, as_json: bool) -> None:
    """Count what the store holds: users, anime, library entries by status, favourites, runs."""
    engine = migrate.open_store(get_settings(database_url=database_url).database_url, create=False)
    counts = store_stats(engine)
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Store {describe_url(engine.url)}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in counts.items():
        if isinstance(value, dict):
            for sub, n in value.items():
                table.add_row(f"  {key.removesuffix('_by_status')} {sub}", f"{n:,}")
        else:
            table.add_row(key.replace("_", " "), f"{value:,}")
    Console().print(table)
