"""Options the `recommend` commands share, and settings resolved at this edge (never deeper)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kitsu_ingest.clikit import database_option

__all__ = ["console", "data_options", "items_options", "list_of", "model_options", "parse_bool", "resolve"]

_MODEL_DIR_HELP = "Where models are saved (default: MODEL_DIR, else ./models)."


def resolve(database_url: str | None = None, model_dir: Path | None = None) -> tuple[str, Path]:
    """(store URL, model directory) from the options, else the settings (environment, .env)."""
    from kitsu_ingest.settings import get_settings

    settings = get_settings(database_url=database_url, model_dir=model_dir)
    return settings.database_url, Path(settings.model_dir)


def console() -> Any:
    """A rich console on stderr (tables and progress; stdout is kept for --json)."""
    from rich.console import Console

    return Console(stderr=True)


def list_of(kind: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback parsing a comma-separated list of `kind`."""
    def parse(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            return tuple(kind(v.strip()) for v in value.split(",") if v.strip())
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a comma-separated list") from None
    return parse


def parse_bool(text: str) -> bool:
    """A yes or no from the command line (`recommender.data.ids.FLAGS`); ValueError otherwise."""
    from recommender.data.ids import parse_flag

    flag = parse_flag(text)
    if flag is None:
        raise ValueError(text)
    return flag


def _apply(function: Callable[..., Any], options: list[Callable[..., Any]]) -> Callable[..., Any]:
    for option in reversed(options):
        function = option(function)
    return function


def data_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Where the interactions come from and how they become strengths."""
    return _apply(function, [
        database_option,
        click.option("--interactions", type=click.Path(path_type=Path), default=None,
                     help="CSV/TSV/Parquet file of interactions (default: the store)."),
        click.option("--user-col", default="user", show_default=True),
        click.option("--item-col", default="item", show_default=True),
        click.option("--weight-col", default=None, help="Column of strengths (e.g. play counts)."),
        click.option("--status-col", default=None, help="Column of statuses, mapped by weights."),
        click.option("--time-col", default=None, help="Column of times (temporal split)."),
        click.option("--weights", "weights_file", type=click.Path(path_type=Path), default=None,
                     help="TOML file of event weights: [weights] completed = 6 ... favorite = 5 "
                          "(see recommend train --help)."),
        click.option("--min-user-items", type=click.IntRange(1), default=1, show_default=True),
        click.option("--min-item-users", type=click.IntRange(1), default=1, show_default=True),
        click.option("--model-dir", type=click.Path(path_type=Path), default=None, help=_MODEL_DIR_HELP),
    ])


def items_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--items FILE, --items-key-col and --title-col: names for a file's items."""
    return _apply(function, [
        click.option("--items", "items_file", type=click.Path(path_type=Path), default=None,
                     help="With --interactions: a CSV/TSV/Parquet file naming the items, shown by the model "
                          "wherever it answers."),
        click.option("--items-key-col", default=None, help="The items file's column of item keys (default: "
                     "--item-col)."),
        click.option("--title-col", default="title", show_default=True, help="The items file's column of names."),
    ])


def model_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--model VERSION, --model-dir and --database-url."""
    return _apply(function, [
        click.option("--model", "version", default=None, metavar="VERSION",
                     help="A saved model version or prefix (default: latest)."),
        click.option("--model-dir", type=click.Path(path_type=Path), default=None, help=_MODEL_DIR_HELP),
        database_option,
    ])
