"""Opening the store: URL validation, SQLite pragmas, one-line errors for what can go wrong."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from kitsu_ingest.errors import ConfigError, StoreError
from kitsu_ingest.urls import mask_password

__all__ = ["describe_url", "hold_ddl", "make_engine", "parse_database_url"]

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA wal_autocheckpoint=16384",  # checkpoint every 64 MiB of WAL, not every 4 MiB
    "PRAGMA cache_size=-65536",  # 64 MiB
    "PRAGMA foreign_keys=ON",
)


def parse_database_url(url: str) -> URL:
    """Validate a DATABASE_URL; PostgreSQL URLs without a driver get psycopg (version 3).
    No message ever shows the URL's password."""
    try:
        if any(c < " " or c == "\x7f" for c in url):
            raise ValueError("a control character")
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"DATABASE_URL {mask_password(url)!r} is not a database URL; "
            "use sqlite:///path/to/file.db or postgresql+psycopg://user@host/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif parsed.drivername != "postgresql+psycopg":
            raise ConfigError(
                f"unsupported PostgreSQL driver {parsed.drivername!r}: use postgresql+psycopg://..."
            )
    elif backend != "sqlite":
        raise ConfigError(
            f"unsupported database scheme {parsed.drivername!r} in DATABASE_URL: "
            "use sqlite:///path/to/file.db or postgresql+psycopg://user@host/dbname"
        )
    return parsed


def describe_url(url: URL | str) -> str:
    """The URL with any password masked, fit for messages (also when it cannot be parsed)."""
    try:
        text = (url if isinstance(url, URL) else make_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        text = str(url)
    return mask_password(text)


def _refuse_in_memory(url: URL) -> None:
    """An in-memory SQLite database is gone when the command that made it ends: as a store it was
    upgraded, then found empty by the next command, for ever."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:") or url.query.get("mode") == "memory":
        raise ConfigError(
            f"DATABASE_URL {describe_url(url)} is an in-memory SQLite database, gone when the command ends: "
            "give the store a file, e.g. sqlite:///data/kitsu.db"
        )


def _prepare_sqlite_path(url: URL, *, create: bool) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser().resolve()
    if not create and not path.exists():
        raise StoreError(f"no store at {path}: run `kitsu-ingest db upgrade` and crawl some users first")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the database folder {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise StoreError(
            f"the database folder {folder} is not writable; "
            "choose another DATABASE_URL or fix its permissions"
        )
    if Path(database).exists() and not os.access(database, os.W_OK):
        raise StoreError(f"the database file {database} is read-only")


_ONE_CONNECTION_CACHE = "PRAGMA cache_size=-16384"  # 16 MiB: see make_engine


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any, *extra: str) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (*_SQLITE_PRAGMAS, *extra):
        cursor.execute(pragma)
    cursor.close()


def make_engine(url: str | URL, *, check: bool = True, create: bool = True, one_connection: bool = False) -> Engine:
    """Create an engine for `url` and (with `check`) prove that it connects.

    SQLite gets WAL, synchronous=NORMAL and a 30 s busy timeout; its folder is created, unless
    `create` is False: then a SQLite file that does not exist is a StoreError and nothing is made
    on disk (for readers of an existing store). With `one_connection`, a SQLite engine keeps a
    single connection, which its users take in turn, with a 16 MiB page cache: each connection holds
    a cache of its own (64 MiB by default, once the file is larger), and a crawl whose threads warmed
    one each grew by that much per thread; SQLite writes one transaction at a time anyway (memray and
    bench/bench_crawl.py, in issue 13's note: the crawl's peak RSS went from 406 MB to 244 MB).
    Raises ConfigError for a malformed or unsupported URL, or an in-memory SQLite one (no store),
    StoreError when it cannot connect.
    """
    parsed = url if isinstance(url, URL) else parse_database_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        _refuse_in_memory(parsed)
        _prepare_sqlite_path(parsed, create=create)
        kwargs["connect_args"] = {"timeout": 30}
        one_connection = one_connection and parsed.database not in (None, "", ":memory:")
        if one_connection:
            kwargs |= {"pool_size": 1, "max_overflow": 0, "pool_timeout": 600}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(f"cannot use DATABASE_URL {describe_url(parsed)}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        extra = (_ONE_CONNECTION_CACHE,) if one_connection else ()
        event.listen(engine, "connect", lambda connection, record: _set_sqlite_pragmas(connection, record, *extra))
    if check:
        try:
            with engine.connect():
                pass
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(f"cannot open the database {describe_url(parsed)}: {reason}") from None
    return engine


def hold_ddl(conn: Connection) -> None:
    """Make the transaction `conn` is in hold DDL too, so that a migration killed half-way leaves
    nothing behind. pysqlite opens a transaction only before INSERT, UPDATE or DELETE, so on SQLite
    a CREATE TABLE was committed at once, whatever transaction SQLAlchemy believed in: there, the
    transaction is opened by hand. PostgreSQL's DDL is transactional already."""
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN")
