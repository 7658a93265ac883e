"""A lock a worker holds for its life, in a study's storage, that the operating system releases when
the worker dies (even by `kill -9`): how a shared study tells a live worker from a dead one that is
still marked running.

    PostgreSQL  a session advisory lock, held on a connection of its own (the server ends the
                session, and the lock, when the dead process's socket closes)
    SQLite      an exclusive `flock` on a file beside the database (`optuna.db.worker-<hash>.lock`),
                released by the kernel when the dead process's descriptors close

A storage without a file (in-memory SQLite: one process) gets a lock that proves nothing: its
workers are taken to be alive until they say they are done.
"""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path
from typing import IO, Any

from recommender.errors import RecommenderError

__all__ = ["BACKENDS", "LifeLock", "is_alive"]

BACKENDS = ("postgresql", "sqlite")
"""The databases a life lock can live in."""


def _backend(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name()


def _key(name: str) -> int:
    """A signed 64-bit advisory lock key for `name`."""
    return int.from_bytes(hashlib.sha256(f"kitsu-recs-worker:{name}".encode()).digest()[:8], "big", signed=True)


def _path(url: str, name: str) -> Path | None:
    """The lock file of `name` beside a SQLite storage's file; None for another database or none."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if _backend(url) != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser().resolve()
    return path.with_name(f"{path.name}.worker-{hashlib.sha256(name.encode()).hexdigest()[:16]}.lock")


def _connect(url: str) -> Any:
    """A connection of its own (no pool: closing it ends the session)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT").connect()


def _try_advisory(connection: Any, name: str) -> bool:
    from sqlalchemy import func, select

    return bool(connection.execute(select(func.pg_try_advisory_lock(_key(name)))).scalar())


class LifeLock:
    """The lock `name` in the storage at `url`, taken at once; `release()` it when the worker ends."""

    def __init__(self, url: str, name: str) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        self._connection: Any = None
        self._file: IO[str] | None = None
        self._path = _path(url, name)
        try:
            if _backend(url) == "postgresql":
                self._connection = _connect(url)
                if not _try_advisory(self._connection, name):
                    raise RecommenderError(f"another process holds the worker lock {name!r}")
            elif self._path is not None:
                self._file = self._path.open("a", encoding="utf-8")
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (SQLAlchemyError, OSError) as exc:
            self.release()
            raise RecommenderError(f"cannot take this worker's lock in the study storage: {exc}") from None

    def release(self) -> None:
        """Give the lock up (idempotent); a lock file goes with it."""
        connection, self._connection = self._connection, None
        file, self._file = self._file, None
        if connection is not None:
            connection.close()  # the session ends, and its advisory locks with it
            connection.engine.dispose()
        if file is not None:
            if self._path is not None:
                self._path.unlink(missing_ok=True)
            file.close()


def is_alive(url: str, name: str) -> bool:
    """Whether the worker that took the lock `name` in the storage at `url` still holds it: False
    once it has released it or died (True when the storage cannot tell)."""
    if _backend(url) == "postgresql":
        from sqlalchemy import func, select

        connection = _connect(url)
        try:
            if not _try_advisory(connection, name):
                return True
            connection.execute(select(func.pg_advisory_unlock(_key(name))))
            return False
        finally:
            connection.close()
            connection.engine.dispose()
    path = _path(url, name)
    if path is None:
        return True
    try:
        with path.open("r", encoding="utf-8") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            path.unlink(missing_ok=True)  # a dead worker's file, tidied while locked
    except FileNotFoundError:
        pass  # released by a worker that ended
    return False
