"""The store's crawl lock: held by the crawl that writes the store, for its whole life, and released
by the operating system when its process dies, even by `kill -9`.

    PostgreSQL  a session advisory lock, held on a connection of its own (the server releases it
                when the session ends, which a dead process's closed socket ends at once)
    SQLite      an exclusive `flock` on a file beside the database (`kitsu.db.crawl-lock`), which
                the kernel releases when the last descriptor of the dead process is closed

A store whose lock the OS cannot keep (an in-memory SQLite database, a platform without `flock`)
gets a lock that proves nothing: the ledger then falls back on the run's heartbeat.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import IO

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine

from kitsu_ingest.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system
    fcntl = None  # type: ignore[assignment]

__all__ = ["CRAWL_LOCK_KEY", "CrawlLock", "held", "holder", "lock_path", "try_lock"]

CRAWL_LOCK_KEY = 7021121
"""PostgreSQL advisory lock key of the crawl lock (advisory locks are per database)."""


class CrawlLock:
    """A held crawl lock; `release()` it when the crawl ends (a dead process releases it anyway).
    `exclusive` is False for a lock that proves nothing (see the module docstring)."""

    def __init__(self, *, connection: Connection | None = None, file: IO[str] | None = None) -> None:
        self._connection = connection
        self._file = file

    @property
    def exclusive(self) -> bool:
        return self._connection is not None or self._file is not None

    def release(self) -> None:
        """Let another crawl have the store (idempotent)."""
        connection, self._connection = self._connection, None
        file, self._file = self._file, None
        if connection is not None:
            try:
                connection.execute(select(func.pg_advisory_unlock(CRAWL_LOCK_KEY)))
                connection.close()
            except Exception:  # the session is gone, and the lock with it; never reuse it
                connection.invalidate()
        if file is not None:
            file.close()  # closing the only descriptor releases the flock


def lock_path(engine: Engine) -> Path | None:
    """The SQLite store's lock file (`<database>.crawl-lock`); None for another backend or a
    database without a file."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve().with_name(Path(database).name + ".crawl-lock")


def try_lock(engine: Engine) -> CrawlLock | None:
    """Take the store's crawl lock without waiting: the lock, or None while a live process holds it."""
    if engine.dialect.name == "postgresql":
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(select(func.pg_try_advisory_lock(CRAWL_LOCK_KEY))).scalar()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            return None
        return CrawlLock(connection=connection)
    path = lock_path(engine)
    if path is None or fcntl is None:
        return CrawlLock()
    try:
        file = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot open the crawl lock file {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        return None
    except BaseException:
        file.close()
        raise
    file.truncate(0)
    file.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    file.flush()
    return CrawlLock(file=file)


def held(engine: Engine) -> bool | None:
    """Whether a live process holds the store's crawl lock (None where the OS cannot keep one).
    PostgreSQL's is looked up in pg_locks; a SQLite store's lock file is tested with a shared
    `flock` let go at once (a crawl starting at that very instant is refused as if one ran)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = :key "
                "AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ), {"key": CRAWL_LOCK_KEY}).scalar_one())
    path = lock_path(engine)
    if path is None or fcntl is None:
        return None
    try:
        file = path.open(encoding="utf-8")
    except FileNotFoundError:
        return False
    except OSError:
        return None
    with file:
        try:
            fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False  # closing the file lets the shared lock go


def holder(engine: Engine) -> str | None:
    """Who holds the SQLite store's lock, as its holder wrote it ("pid 123 on host"), if known."""
    path = lock_path(engine)
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None
