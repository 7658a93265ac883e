"""ALS recommendations from implicit feedback (Kitsu libraries and favourites, or any CSV/Parquet)."""

from kitsu_ingest import __version__

__all__ = ["__version__"]
