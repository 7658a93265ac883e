"""What to do with what came back: a batch's rows written in one transaction with its users' move
to `done` (or `failed`), and the records the crawler could not use filed as crawl errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from kitsu_ingest.crawl.delta import DeltaPage
from kitsu_ingest.crawl.fetch import Failure, Harvest, RecordError
from kitsu_ingest.crawl.ledger import Run, mark_touched, update_params, utcnow
from kitsu_ingest.store.models import Anime, CrawlError, CrawlRun, CrawlUser, Favorite, LibraryEntry, User, table
from kitsu_ingest.store.upsert import upsert

__all__ = ["WRITE_BATCH", "record_errors", "write_delta_page", "write_harvests"]

WRITE_BATCH = 5000
"""Rows converted and sent at once: a flush of one heavy batch holds tens of thousands of rows, and
their converted values need not all exist at the same time."""

_RUNS, _USERS_STATE, _ERRORS = table(CrawlRun), table(CrawlUser), table(CrawlError)
_ANIME, _ENTRIES, _FAVORITES, _USERS = table(Anime), table(LibraryEntry), table(Favorite), table(User)


def write_harvests(
    engine: Engine,
    run: Run,
    harvests: Sequence[Harvest],
    failures: Sequence[Failure],
    *,
    full: bool,
    summary: dict[str, Any] | None = None,
) -> None:
    """One transaction: the batches' anime, entries and favourites; for a full crawl, the user's
    rows that Kitsu no longer serves are deleted; the users move to `done` (or `failed`); errors
    and anomalies are filed; the run's progress so far (`summary`) is stored with them."""
    now = utcnow()
    with engine.begin() as conn:
        anime = {aid: row for h in harvests for aid, row in h.anime.items()}
        # Sparse anime fieldsets carry no categories, so stored categories are left alone.
        upsert(conn, _ANIME, list(anime.values()))
        upsert(conn, _ENTRIES, (row for h in harvests for row in h.entries), batch_size=WRITE_BATCH)
        upsert(conn, _FAVORITES, (row for h in harvests for row in h.favorites), batch_size=WRITE_BATCH)
        for h in harvests:
            if full and h.fetched_at is not None:
                _delete_stale(conn, _ENTRIES, h.user_ids, h.fetched_at)
                _delete_stale(conn, _FAVORITES, h.user_ids, h.fetched_at)
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
        for failure in failures:
            conn.execute(
                update(_USERS_STATE)
                .where(_USERS_STATE.c.run_id == run.id, _USERS_STATE.c.user_id.in_(failure.user_ids))
                .values(state="failed", attempts=_USERS_STATE.c.attempts + 1, error=failure.error.message[:500],
                        updated_at=now)
            )
        errors = [e for h in harvests for e in (*h.errors, *h.anomalies)]
        _insert_errors(conn, run, errors + [e for f in failures for e in (f.error, *f.anomalies)], now)
        _beat(conn, run, now, summary)


def write_delta_page(
    engine: Engine, run: Run, page: DeltaPage, summary: dict[str, Any] | None = None
) -> tuple[int, int]:
    """One transaction: a delta page's anime and entries, its owners marked `touched` (stored
    users) or `discovered` (users the store does not know yet, to crawl whole), its errors and
    anomalies filed, the cursor after it stored with the run. Returns how many stored users and
    how many new ones the run meets for the first time."""
    assert page.cursor is not None
    now = utcnow()
    with engine.begin() as conn:
        upsert(conn, _ANIME, list(page.harvest.anime.values()))
        upsert(conn, _ENTRIES, page.harvest.entries, batch_size=WRITE_BATCH)
        owners = list(page.owners)
        known = set(conn.execute(select(_USERS.c.id).where(_USERS.c.id.in_(owners))).scalars()) if owners else set()
        touched = mark_touched(conn, run, {uid: n for uid, n in page.owners.items() if uid in known})
        new = mark_touched(conn, run, {uid: n for uid, n in page.owners.items() if uid not in known}, "discovered")
        _insert_errors(conn, run, [*page.harvest.errors, *page.anomalies], now)
        update_params(conn, run, delta=page.cursor.to_params())
        _beat(conn, run, now, summary)
    return touched, new


def _beat(conn: Connection, run: Run, now: datetime, summary: dict[str, Any] | None) -> None:
    values: dict[str, Any] = {"heartbeat_at": now}
    if summary is not None:
        values["summary"] = summary
    conn.execute(update(_RUNS).where(_RUNS.c.id == run.id).values(**values))


def _delete_stale(conn: Connection, rows: Table, user_ids: list[int], fetched_at: datetime) -> None:
    """The users' rows this batch did not bring (fetched before it): Kitsu no longer serves them.

    Said by time, not by listing the ids kept: a statement with thousands of parameters, one text
    per list length, filled SQLite's statement cache with large programs (memory grew with the crawl).
    """
    conn.execute(delete(rows).where(rows.c.user_id.in_(user_ids), rows.c.fetched_at < fetched_at))


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
