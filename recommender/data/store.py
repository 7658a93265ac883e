"""Narrow, read-only store queries for serving: a user's anime, titles, title search, popularity.

Plain SQL through SQLAlchemy Core, without the SQLModel tables: importing those (and alembic)
would cost more than the whole `recommend user` budget. The store is never created or migrated
here; a missing SQLite file or missing tables is a one-line RecommenderError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import RecommenderError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["AnimeInfo", "StoreReader", "UserEvents"]


@dataclass(frozen=True)
class AnimeInfo:
    """What a recommendation shows about an anime."""

    id: int
    title: str | None
    subtype: str | None


@dataclass(frozen=True)
class UserEvents:
    """A user's stored anime: library entries (anime id, status) and favourite anime ids."""

    user_id: int
    known: bool
    entries: tuple[tuple[int, str], ...]
    favorites: tuple[int, ...]

    def excluded(self, include_planned: bool = False) -> set[int]:
        """Anime never to recommend: all of them, or all but the planned-only ones."""
        out = set(self.favorites)
        out.update(a for a, status in self.entries if not (include_planned and status == "planned"))
        return out

    @property
    def empty(self) -> bool:
        return not self.entries and not self.favorites


def _url(url: str) -> Any:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise RecommenderError(f"DATABASE_URL {url!r} is not a database URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:") \
                and not Path(database).expanduser().is_file():
            raise RecommenderError(
                f"no store at {database}: run `kitsu-ingest db upgrade` and crawl some users first")
    elif backend != "postgresql":
        raise RecommenderError(f"unsupported database scheme {parsed.drivername!r} in DATABASE_URL")
    return parsed


class StoreReader:
    """Read-only queries against the kitsu-ingest store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> StoreReader:
        from sqlalchemy import create_engine

        parsed = _url(url)
        kwargs: dict[str, Any] = {"pool_pre_ping": True} if parsed.get_backend_name() != "sqlite" \
            else {"connect_args": {"timeout": 30, "check_same_thread": False}}
        return cls(create_engine(parsed, **kwargs))

    def close(self) -> None:
        self.engine.dispose()

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import bindparam, text
        from sqlalchemy.exc import DBAPIError

        statement = text(sql)
        for name, value in params.items():
            if isinstance(value, list | tuple):
                statement = statement.bindparams(bindparam(name, expanding=True))
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(statement, params))
        except DBAPIError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            if "no such table" in reason or "does not exist" in reason:
                raise RecommenderError(
                    f"the store has no such table ({reason}): run `kitsu-ingest db upgrade`"
                ) from None
            raise RecommenderError(f"cannot read the store: {reason}") from None

    def user_events(self, user_id: int) -> UserEvents:
        """The user's library entries with a known anime, and favourite anime."""
        entries = self._rows("SELECT anime_id, status FROM library_entries "
                             "WHERE user_id = :u AND anime_id IS NOT NULL", u=user_id)
        favorites = self._rows("SELECT anime_id FROM favorites WHERE user_id = :u", u=user_id)
        known = bool(entries or favorites) or bool(
            self._rows("SELECT 1 FROM users WHERE id = :u", u=user_id))
        return UserEvents(user_id, known, tuple((int(a), str(s)) for a, s in entries),
                          tuple(int(a) for (a,) in favorites))

    def anime(self, ids: Iterable[int]) -> dict[int, AnimeInfo]:
        """Titles and subtypes of the given anime (missing ones are left out)."""
        wanted = sorted({int(i) for i in ids})
        out: dict[int, AnimeInfo] = {}
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start:start + 5000]
            for aid, title, subtype in self._rows(
                    "SELECT id, canonical_title, subtype FROM anime WHERE id IN :ids", ids=chunk):
                out[int(aid)] = AnimeInfo(int(aid), title, subtype)
        return out

    def search(self, title: str, limit: int = 50) -> list[AnimeInfo]:
        """Anime whose title contains `title` (any case): exact matches first, then prefixes,
        then the rest, each by Kitsu popularity."""
        needle = title.strip().lower()
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._rows(
            "SELECT id, canonical_title, subtype FROM anime "
            "WHERE lower(canonical_title) LIKE :q ESCAPE '\\' "
            "ORDER BY CASE WHEN lower(canonical_title) = :exact THEN 0 "
            "WHEN lower(canonical_title) LIKE :prefix ESCAPE '\\' THEN 1 ELSE 2 END, "
            "CASE WHEN popularity_rank IS NULL THEN 1 ELSE 0 END, popularity_rank, id LIMIT :n",
            q=f"%{escaped}%", exact=needle, prefix=f"{escaped}%", n=limit)
        return [AnimeInfo(int(a), t, s) for a, t, s in rows]

    def popular(self, limit: int) -> list[tuple[int, int]]:
        """(anime id, users with it in their library) for the most common anime."""
        rows = self._rows("SELECT anime_id, COUNT(*) AS n FROM library_entries "
                          "WHERE anime_id IS NOT NULL GROUP BY anime_id "
                          "ORDER BY n DESC, anime_id LIMIT :n", n=limit)
        return [(int(a), int(n)) for a, n in rows]

    def all_events(self, include_planned: bool = False, chunk: int = 200_000) -> Iterator[
            tuple[list[int], list[int]]]:
        """Every (user id, anime id) never to recommend, in chunks of two lists."""
        from sqlalchemy import text

        planned = " AND status <> 'planned'" if include_planned else ""
        queries = ["SELECT user_id, anime_id FROM library_entries "
                   f"WHERE anime_id IS NOT NULL{planned}",
                   "SELECT user_id, anime_id FROM favorites"]
        try:
            with self.engine.connect() as conn:
                for sql in queries:
                    result = conn.execution_options(stream_results=True).execute(text(sql))
                    while rows := result.fetchmany(chunk):
                        users, anime = zip(*rows, strict=True)
                        yield list(users), list(anime)
        except Exception as exc:
            from sqlalchemy.exc import DBAPIError

            if not isinstance(exc, DBAPIError):
                raise
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise RecommenderError(f"cannot read the store: {reason}") from None
