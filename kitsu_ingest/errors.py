"""The exceptions kitsu_ingest raises on purpose.

    KitsuIngestError          anything the user can fix; the CLIs print its message in one line, exit 2
    ├── ConfigError           a setting or option is invalid (bad DATABASE_URL, unknown scheme, ...)
    ├── StoreError            the database cannot be opened, written, or is at the wrong schema version
    │   ├── SchemaBehindError the database needs `kitsu-ingest db upgrade`
    │   └── SchemaAheadError  the database was migrated by a newer kitsu-recs: upgrade the code
    └── ApiError              the Kitsu API (or the emulator) answered something we cannot use
        ├── NotFoundError     404
        ├── AuthError         401, a refused login
        ├── RequestRejected   400 and other 4xx that retrying cannot fix
        ├── TransientError    worth retrying: 5xx, 429, 403, timeouts, dropped connections, bad JSON
        ├── RetryLater        the API asks to wait longer than a client waits (a Retry-After past the cap)
        └── UnreachableError  the host cannot be reached at all
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "KitsuIngestError",
    "NotFoundError",
    "RequestRejected",
    "RetryLater",
    "SchemaAheadError",
    "SchemaBehindError",
    "StoreError",
    "TransientError",
    "UnreachableError",
]


class KitsuIngestError(Exception):
    """An error with a message fit to show the user as it is."""


class ConfigError(KitsuIngestError):
    """A setting or option is invalid."""


class StoreError(KitsuIngestError):
    """The SQL store cannot be used."""


class SchemaBehindError(StoreError):
    """The database schema is older than the code."""


class SchemaAheadError(StoreError):
    """The database schema is newer than any revision the code knows."""


class ApiError(KitsuIngestError):
    """The API answered with something unusable."""


class NotFoundError(ApiError):
    """404: the record does not exist (a deleted user, a wrong id)."""


class AuthError(ApiError):
    """401 or a refused login: the credentials are wrong."""


class RequestRejected(ApiError):
    """400 (or another 4xx that retrying cannot fix): the request itself is wrong."""


class TransientError(ApiError):
    """A failure worth retrying: 5xx, 429, 403 from the edge, a timeout, a dropped connection,
    a malformed body. `cause` names it for the statistics; `retry_after` is how long to wait before
    trying again (the server's hint, or the client's own); `costs_attempt` is False for a 429 the
    client answered by slowing down, which does not count against the attempts of its request."""

    def __init__(
        self, message: str, cause: str, *, retry_after: float | None = None, payload: str | None = None,
        costs_attempt: bool = True,
    ) -> None:
        super().__init__(message)
        self.cause = cause
        self.retry_after = retry_after
        self.payload = payload
        self.costs_attempt = costs_attempt


class RetryLater(ApiError):
    """The API asks to wait (Retry-After) longer than a client waits: stop, and come back later."""


class UnreachableError(ApiError):
    """The API host cannot be reached at all."""
