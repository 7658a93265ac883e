"""`kitsu-ingest`: crawl Kitsu into a SQL store, inspect it, segment its users, run the emulator."""

from __future__ import annotations

import click

from kitsu_ingest import __version__
from kitsu_ingest.clikit import LazyGroup

__all__ = ["main"]


@click.group(
    cls=LazyGroup,
    lazy_commands={
        "db": "kitsu_ingest.store.cli:db",
        "stats": "kitsu_ingest.store.cli:stats",
        "emulator": "kitsu_ingest.emulator.cli:emulator",
        "segment-users": "kitsu_ingest.segment.cli:segment_users",
        "crawl": "kitsu_ingest.crawl.cli:crawl_command",
    },
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="kitsu-ingest")
def main() -> None:
    """Crawl Kitsu users, their libraries and favourites into a SQL store.

    Settings come from the environment and `.env` (see .env.example); options override them.
    The store is a SQLite file by default (DATABASE_URL to use PostgreSQL).
    """


if __name__ == "__main__":
    main()
