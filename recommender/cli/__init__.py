"""`recommend`: train, evaluate and query ALS recommenders."""

from __future__ import annotations

import click

from kitsu_ingest.clikit import LazyGroup
from recommender import __version__

__all__ = ["main"]
# The commands live in recommender.cli.train and recommender.cli.serve (options, tables and
# progress only: every one of them calls the library).


@click.group(
    cls=LazyGroup,
    lazy_commands={
        "train": "recommender.cli.train:train",
        "models": "recommender.cli.train:models",
        "evaluate": "recommender.cli.train:evaluate",
        "export": "recommender.cli.export:export",
        "user": "recommender.cli.serve:user",
        "similar": "recommender.cli.serve:similar",
        "batch": "recommender.cli.serve:batch",
        "serve": "recommender.cli.serve:serve",
        "refresh": "recommender.cli.refresh:refresh",
    },
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="recommend")
def main() -> None:
    """Train ALS recommenders on implicit feedback and ask them for anime.

    Interactions come from the kitsu-ingest store (DATABASE_URL) or from a CSV/Parquet file;
    models are saved under MODEL_DIR (default ./models).
    """
