"""`recommend`: train, evaluate and query ALS recommenders."""

from __future__ import annotations

import click

from kitsu_ingest.clikit import LazyGroup
from recommender import __version__

__all__ = ["main"]


@click.group(
    cls=LazyGroup,
    lazy_commands={
        "train": "recommender.train_cli:train",
        "models": "recommender.train_cli:models",
        "evaluate": "recommender.train_cli:evaluate",
        "user": "recommender.serve_cli:user",
        "similar": "recommender.serve_cli:similar",
        "batch": "recommender.serve_cli:batch",
        "serve": "recommender.serve_cli:serve",
    },
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="recommend")
def main() -> None:
    """Train ALS recommenders on implicit feedback and ask them for anime.

    Interactions come from the kitsu-ingest store (DATABASE_URL) or from a CSV/Parquet file;
    models are saved under MODEL_DIR (default ./models).
    """
