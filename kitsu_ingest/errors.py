"""The exceptions kitsu_ingest raises on purpose.

    KitsuIngestError          anything the user can fix; the CLIs print its message in one line, exit 2
    ├── ConfigError           a setting or option is invalid (bad DATABASE_URL, unknown scheme, ...)
    ├── StoreError            the database cannot be opened, written, or is at the wrong schema version
    │   └── SchemaBehindError the database needs `kitsu-ingest db upgrade`
    └── ApiError              the Kitsu API (or the emulator) answered something we cannot use
"""

from __future__ import annotations

__all__ = ["ApiError", "ConfigError", "KitsuIngestError", "SchemaBehindError", "StoreError"]


class KitsuIngestError(Exception):
    """An error with a message fit to show the user as it is."""


class ConfigError(KitsuIngestError):
    """A setting or option is invalid."""


class StoreError(KitsuIngestError):
    """The SQL store cannot be used."""


class SchemaBehindError(StoreError):
    """The database schema is older than the code."""


class ApiError(KitsuIngestError):
    """The API answered with something unusable."""
