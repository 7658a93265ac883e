"""The recommender's one reader of the kitsu-ingest store: interactions for training and batch
exclusions, a user's anime, titles, title search, popularity, changed users, cluster labels.

Plain SQL through SQLAlchemy Core, without the SQLModel tables: importing those (and alembic)
would cost more than the whole `recommend user` budget. The store is never created or migrated
here; a missing SQLite file or missing tables is a one-line RecommenderError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from recommender.data.events import EventColumns
from recommender.errors import DataError, RecommenderError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sqlalchemy.engine import Engine

__all__ = ["AnimeInfo", "StoreReader", "UserEvents"]

_MISSING_TABLE = ("no such table", "does not exist")
_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
_LIKE_ESCAPES = {"\\": "\\\\", "%": "\\%", "_": "\\_"}


class AnimeInfo(BaseModel):
    """What a recommendation shows about an anime (or a file model's item: its key, maybe a name)."""

    model_config = ConfigDict(frozen=True)

    id: int | str
    title: str | None
    subtype: str | None


@dataclass(frozen=True)
class UserEvents:
    """A user's stored anime: library entries (anime id, status) and favourite anime ids; for a
    file model's user, their training items (status "") with the `strengths` they trained with."""

    user_id: Any
    known: bool
    entries: tuple[tuple[Any, str], ...]
    favorites: tuple[Any, ...]
    strengths: tuple[float, ...] | None = None

    def excluded(self, include_planned: bool = False) -> set[int]:
        """Anime never to recommend: all of them, or all but the planned-only ones."""
        out = set(self.favorites)
        out.update(a for a, status in self.entries if not (include_planned and status == "planned"))
        return out

    @property
    def empty(self) -> bool:
        return not self.entries and not self.favorites


def _store_error(exc: Exception) -> RecommenderError:
    """One line for a database error met while reading."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if any(marker in reason for marker in _MISSING_TABLE):
        return RecommenderError(f"the store has no such table ({reason}): run `kitsu-ingest db upgrade`")
    return RecommenderError(f"cannot read the store: {reason}")


class StoreReader:
    """Read-only queries against the kitsu-ingest store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> StoreReader:
        """A reader of the store at `url`; nothing is created (a missing SQLite file is an error),
        and a driver other than SQLite's own or psycopg is refused in one line (one that is not
        installed would be an ImportError, an async one fail at the first query)."""
        from kitsu_ingest.store.engine import describe_url, make_engine, parse_database_url

        parsed = parse_database_url(url)
        if parsed.drivername not in _DRIVERS:
            raise RecommenderError(f"unsupported database driver {parsed.drivername!r} in "
                                   f"{describe_url(parsed)}: use sqlite:///path/to/file.db or "
                                   "postgresql+psycopg://user@host/dbname")
        try:
            return cls(make_engine(parsed, create=False))
        except ImportError as exc:
            raise RecommenderError(f"cannot use {describe_url(parsed)}: its driver is not installed ({exc})") from None

    @classmethod
    def open_if_present(cls, url: str) -> StoreReader | None:
        """`open`, but None for a SQLite file that does not exist (a malformed URL, an unknown
        driver are still errors)."""
        from pathlib import Path

        from kitsu_ingest.store.engine import parse_database_url

        parsed = parse_database_url(url)
        if parsed.drivername.startswith("sqlite") and parsed.database and not Path(parsed.database).exists():
            return None
        return cls.open(url)

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
            raise _store_error(exc) from None

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
                out[int(aid)] = AnimeInfo(id=int(aid), title=title, subtype=subtype)
        return out

    def search(self, title: str, limit: int = 50) -> list[AnimeInfo]:
        """Anime whose title contains `title` in any case (Unicode case folding, on SQLite and
        PostgreSQL alike): exact matches first, then prefixes, then the rest, each by Kitsu
        popularity.

        Databases lower only ASCII letters (SQLite always, PostgreSQL under a "C" ctype), so SQL
        only narrows the candidates: `lower(title) LIKE` the needle with every non-ASCII character
        a one-character wildcard (any number for one that folds to more, as ß to ss); Python then
        matches and ranks them by `str.casefold`.
        """
        needle = title.strip().casefold()
        pattern = "".join(_LIKE_ESCAPES.get(c, c.lower()) if c.isascii() else "_" if len(c.casefold()) == 1
                          else "%" for c in title.strip())
        rows = self._rows("SELECT id, canonical_title, subtype, popularity_rank FROM anime "
                          "WHERE lower(canonical_title) LIKE :q ESCAPE '\\'", q=f"%{pattern}%")
        found = []
        for aid, name, subtype, rank in rows:
            folded = (name or "").casefold()
            if needle in folded:
                order = 0 if folded == needle else 1 if folded.startswith(needle) else 2
                info = AnimeInfo(id=int(aid), title=name, subtype=subtype)
                found.append(((order, rank is None, rank or 0, int(aid)), info))
        found.sort(key=lambda pair: pair[0])
        return [info for _, info in found[:limit]]

    def popular(self, limit: int) -> list[tuple[int, int]]:
        """(anime id, users with it in their library) for the most common anime: Kitsu's own
        count (`userCount`, over the whole site) where the store has it, an instant read; else
        counted in the store's libraries (13 s at the whole site's 67M entries, on SQLite)."""
        rows = self._rows("SELECT id, user_count FROM anime WHERE user_count IS NOT NULL "
                          "ORDER BY user_count DESC, id LIMIT :n", n=limit)
        if rows:
            return [(int(a), int(n)) for a, n in rows]
        rows = self._rows("SELECT anime_id, COUNT(*) AS n FROM library_entries "
                          "WHERE anime_id IS NOT NULL GROUP BY anime_id "
                          "ORDER BY n DESC, anime_id LIMIT :n", n=limit)
        return [(int(a), int(n)) for a, n in rows]

    def event_columns(self) -> EventColumns:
        """Every event as typed columns, streamed from the store without a Python object per row
        (the store's packed reader, `kitsu_ingest.store.packed`: about 2M rows/s on SQLite).
        An entry with a status other than Kitsu's five has the kind "other" (`interaction_frames`
        names it). The packed reader maps users through the users table: a store holding events
        of users it lacks is read row by row instead. DataError when the store has no events."""
        import numpy as np
        from sqlalchemy.exc import DBAPIError

        from kitsu_ingest.errors import KitsuIngestError
        from kitsu_ingest.store.packed import FAVORITE_CODE, OTHER_CODE, STATUS_CODES, load_events, load_users

        kinds = [""] * (FAVORITE_CODE + 1)
        kinds[OTHER_CODE] = "other"  # recommender.data.sources.OTHER
        for status, code in STATUS_CODES.items():
            kinds[code] = status
        kinds[FAVORITE_CODE] = "favorite"
        try:
            users = load_users(self.engine)
            events = load_events(self.engine, users)
        except DBAPIError as exc:
            raise _store_error(exc) from None
        except KitsuIngestError:  # no users
            events = None
        if events is None or events.dropped:
            entries, favorites = self.interaction_frames()
            codes = entries["status"].astype(str).map(lambda s: kinds.index(s) if s in kinds else OTHER_CODE)
            return EventColumns(
                np.concatenate([entries["user"].to_numpy(np.int64), favorites["user"].to_numpy(np.int64)]),
                np.concatenate([entries["item"].to_numpy(np.int64), favorites["item"].to_numpy(np.int64)]),
                np.concatenate([codes.to_numpy(np.int8), np.full(len(favorites), FAVORITE_CODE, np.int8)]),
                tuple(kinds))
        if not events.nnz:
            raise DataError("the store has no library entries: run `kitsu-ingest crawl` first")
        codes = np.concatenate(events.codes)
        rows = np.concatenate(events.rows)
        user_ids = users.ids[rows]
        del rows
        return EventColumns(user_ids, np.concatenate(events.cols).astype(np.int64), codes, tuple(kinds))

    def users_changed_since(self, since: datetime) -> np.ndarray:
        """Ids (ascending) of the users with a profile, library entry or favourite stored after
        `since` (naive UTC): a crawl writes every row it fetches with its time, so these are the
        users a crawl (a `--since` delta, or a full one) touched since then."""
        import numpy as np
        from sqlalchemy import DateTime, bindparam, text
        from sqlalchemy.exc import DBAPIError

        sql = text("SELECT user_id FROM library_entries WHERE fetched_at > :t UNION "
                   "SELECT user_id FROM favorites WHERE fetched_at > :t UNION "
                   "SELECT id FROM users WHERE fetched_at > :t").bindparams(bindparam("t", type_=DateTime))
        try:
            with self.engine.connect() as conn:
                ids = conn.execute(sql, {"t": since}).scalars().all()
        except DBAPIError as exc:
            raise _store_error(exc) from None
        return np.unique(np.asarray(ids, np.int64))

    def interaction_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Library entries with a known anime (user, item, status, time) and favourites (user,
        item, time), one query each; DataError when the store has none."""
        import pandas as pd
        from sqlalchemy import DateTime, Integer, String, text
        from sqlalchemy.exc import DBAPIError

        entries_q = text('SELECT user_id AS "user", anime_id AS item, status, updated_at AS time '
                         "FROM library_entries WHERE anime_id IS NOT NULL").columns(
            user=Integer, item=Integer, status=String, time=DateTime)
        favorites_q = text('SELECT user_id AS "user", anime_id AS item, updated_at AS time '
                           "FROM favorites").columns(user=Integer, item=Integer, time=DateTime)
        try:
            with self.engine.connect() as conn:
                entries = pd.read_sql(entries_q, conn)
                favorites = pd.read_sql(favorites_q, conn)
        except DBAPIError as exc:
            raise _store_error(exc) from None
        if entries.empty and favorites.empty:
            raise DataError("the store has no library entries: run `kitsu-ingest crawl` first")
        entries["status"] = entries["status"].astype("category")
        return entries, favorites

    def cluster_labels(self, user_ids: np.ndarray) -> np.ndarray | None:
        """A cluster label for each of `user_ids` (-1 for none) from the newest `segment-users`
        run with clusters; None when there is none."""
        from sqlalchemy.exc import DBAPIError

        from kitsu_ingest.segment.store import load_cluster_labels
        from recommender.data.ids import align_labels

        try:
            segments = load_cluster_labels(self.engine)
        except DBAPIError as exc:
            raise _store_error(exc) from None
        if segments is None:
            return None
        return align_labels(user_ids, segments.user_ids, segments.labels)
