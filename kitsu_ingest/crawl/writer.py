"""What to do with what came back: a batch's rows written in one transaction with its users' move
to `done` (or `failed`), and the records the crawler could not use filed as crawl errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Table, and_, delete, insert, not_, update
from sqlalchemy.engine import Connection, Engine

from kitsu_ingest.crawl.fetch import Harvest, RecordError
from kitsu_ingest.crawl.ledger import Run, utcnow
from kitsu_ingest.store.models import Anime, CrawlError, CrawlRun, CrawlUser, Favorite, LibraryEntry, table
from kitsu_ingest.store.upsert import upsert

__all__ = ["record_errors", "write_harvests"]

_RUNS, _USERS_STATE, _ERRORS = table(CrawlRun), table(CrawlUser), table(CrawlError)
_ANIME, _ENTRIES, _FAVORITES = table(Anime), table(LibraryEntry), table(Favorite)


def write_harvests(
    engine: Engine,
    run: Run,
    harvests: Sequence[Harvest],
    failures: Sequence[tuple[list[int], RecordError]],
    *,
    full: bool,
) -> None:
    """One transaction: the batches' anime, entries and favourites; for a full crawl, the user's
    rows that Kitsu no longer serves are deleted; the users move to `done` (or `failed`)."""
    now = utcnow()
    with engine.begin() as conn:
        anime = {aid: row for h in harvests for aid, row in h.anime.items()}
        # Sparse anime fieldsets carry no categories, so stored categories are left alone.
        upsert(conn, _ANIME, list(anime.values()))
        upsert(conn, _ENTRIES, [row for h in harvests for row in h.entries])
        upsert(conn, _FAVORITES, [row for h in harvests for row in h.favorites])
        for h in harvests:
            if full:
                _delete_stale(conn, _ENTRIES, h.user_ids, [r["id"] for r in h.entries])
                _delete_stale(conn, _FAVORITES, h.user_ids, [r["id"] for r in h.favorites])
            for uid in h.user_ids:
                conn.execute(
                    update(_USERS_STATE)
                    .where(_USERS_STATE.c.run_id == run.id, _USERS_STATE.c.user_id == uid)
                    .values(
                        state="done",
                        attempts=_USERS_STATE.c.attempts + 1,
                        entries=h.entries_per_user[uid],
                        favorites=h.favorites_per_user[uid],
                        error=None,
                        updated_at=now,
                    )
                )
        for user_ids, error in failures:
            conn.execute(
                update(_USERS_STATE)
                .where(_USERS_STATE.c.run_id == run.id, _USERS_STATE.c.user_id.in_(user_ids))
                .values(state="failed", attempts=_USERS_STATE.c.attempts + 1, error=error.message[:500], updated_at=now)
            )
        _insert_errors(conn, run, [e for h in harvests for e in h.errors] + [e for _, e in failures], now)
        conn.execute(update(_RUNS).where(_RUNS.c.id == run.id).values(heartbeat_at=now))


def _delete_stale(conn: Connection, rows: Table, user_ids: list[int], keep: list[int]) -> None:
    condition: ColumnElement[bool] = rows.c.user_id.in_(user_ids)
    if keep:
        condition = and_(condition, not_(rows.c.id.in_(keep)))
    conn.execute(delete(rows).where(condition))


def record_errors(engine: Engine, run: Run, errors: Sequence[RecordError]) -> None:
    """File errors outside a batch (e.g. a users page that could not be read)."""
    if errors:
        with engine.begin() as conn:
            _insert_errors(conn, run, list(errors), utcnow())


def _insert_errors(conn: Connection, run: Run, errors: list[RecordError], now: datetime) -> None:
    if errors:
        conn.execute(
            insert(_ERRORS),
            [
                {
                    "run_id": run.id,
                    "user_id": e.user_id,
                    "url": e.url,
                    "kind": e.kind,
                    "message": e.message[:2000],
                    "payload": e.payload,
                    "created_at": now,
                }
                for e in errors
            ],
        )
