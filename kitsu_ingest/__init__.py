"""Ingest implicit feedback from the Kitsu anime platform into a SQL store."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kitsu-recs")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
