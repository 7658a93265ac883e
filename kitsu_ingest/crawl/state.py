"""Crawl bookkeeping in the store: the run lock, per-user progress, and the batch writes that
move users to `done` in the same transaction as their rows (so a kill loses nothing)."""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, delete, func, insert, not_, select, text, update
from sqlalchemy.engine import Connection, Engine

from kitsu_ingest.crawl.fetch import Harvest, RecordError
from kitsu_ingest.errors import ConfigError, StoreError
from kitsu_ingest.store.models import (
    Anime,
    CrawlError,
    CrawlRun,
    CrawlUser,
    Favorite,
    LibraryEntry,
    User,
)
from kitsu_ingest.store.upsert import upsert

__all__ = [
    "STALE_AFTER",
    "Run",
    "finish_run",
    "heartbeat",
    "open_run",
    "pending_users",
    "record_errors",
    "register_users",
    "update_params",
    "user_states",
    "utcnow",
    "write_harvests",
]

STALE_AFTER = timedelta(seconds=60)
RUNS, USERS_STATE, ERRORS = CrawlRun.__table__, CrawlUser.__table__, CrawlError.__table__
ENTRIES, FAVORITES = LibraryEntry.__table__, Favorite.__table__


def utcnow() -> datetime:
    """Naive UTC now, as the store keeps times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class Run:
    """The crawl run this process owns."""

    id: int
    params: dict[str, Any]
    resumed: bool


def _lock_writers(conn: Connection) -> None:
    """Serialise run creation between processes: SQLite's write lock, a PostgreSQL advisory lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7021120)"))
    else:
        conn.execute(update(RUNS).where(text("0")).values(status=RUNS.c.status))


def open_run(engine: Engine, params: dict[str, Any], base_url: str, *, resume: bool) -> Run:
    """Start a crawl run (or, with `resume`, take up the newest unfinished one).

    Raises StoreError when another live crawl is writing this store, ConfigError when there is
    nothing to resume.
    """
    now = utcnow()
    owner = {"host": socket.gethostname(), "pid": os.getpid()}
    with engine.begin() as conn:
        _lock_writers(conn)
        for run_id, beat in conn.execute(
            select(RUNS.c.id, RUNS.c.heartbeat_at).where(RUNS.c.status == "running")
        ):
            if beat is not None and now - beat < STALE_AFTER:
                raise StoreError(
                    f"another crawl (run {run_id}) is writing this store (last seen "
                    f"{(now - beat).seconds} s ago); wait for it to finish, or stop it and use --resume"
                )
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(status="interrupted"))
        if resume:
            row = conn.execute(
                select(RUNS.c.id, RUNS.c.params)
                .where(RUNS.c.status != "done")
                .order_by(RUNS.c.id.desc())
                .limit(1)
            ).first()
            if row is None:
                raise ConfigError("nothing to resume: every crawl in this store has finished")
            conn.execute(
                update(RUNS).where(RUNS.c.id == row.id).values(status="running", heartbeat_at=now)
            )
            return Run(row.id, dict(row.params) | {"owner": owner}, resumed=True)
        run_id = conn.execute(
            insert(RUNS)
            .values(started_at=now, heartbeat_at=now, status="running", base_url=base_url, params=params)
            .returning(RUNS.c.id)
        ).scalar_one()
        return Run(run_id, params, resumed=False)


def update_params(engine: Engine, run: Run, **changes: Any) -> None:
    """Record facts about the run (e.g. that its users are registered) for a later resume."""
    run.params = {k: v for k, v in (run.params | changes).items() if k != "owner"}
    with engine.begin() as conn:
        conn.execute(update(RUNS).where(RUNS.c.id == run.id).values(params=run.params))


def heartbeat(engine: Engine, run: Run) -> None:
    """Say this crawl is alive (another process treats a run silent for a minute as dead)."""
    with engine.begin() as conn:
        conn.execute(update(RUNS).where(RUNS.c.id == run.id).values(heartbeat_at=utcnow()))


def register_users(
    engine: Engine, run: Run, users: Sequence[dict[str, Any]], missing: Iterable[int] = ()
) -> int:
    """Store the profiles of the run's users and add them to its to-do list (once)."""
    now = utcnow()
    with engine.begin() as conn:
        upsert(conn, User.__table__, users)
        ids = [u["id"] for u in users]
        known = set(
            conn.execute(
                select(USERS_STATE.c.user_id).where(
                    USERS_STATE.c.run_id == run.id, USERS_STATE.c.user_id.in_(ids + list(missing))
                )
            ).scalars()
        )
        new = [
            {"run_id": run.id, "user_id": uid, "state": state, "attempts": 0, "updated_at": now}
            for uid, state in [*((i, "pending") for i in ids), *((i, "missing") for i in missing)]
            if uid not in known
        ]
        if new:
            conn.execute(insert(USERS_STATE), new)
        return len(new)


def pending_users(engine: Engine, run: Run) -> list[tuple[int, int]]:
    """(user id, favourites count) of the run's users still to crawl, failed ones included."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(USERS_STATE.c.user_id, func.coalesce(User.__table__.c.favorites_count, 1))
            .select_from(USERS_STATE.outerjoin(User.__table__, User.__table__.c.id == USERS_STATE.c.user_id))
            .where(USERS_STATE.c.run_id == run.id, USERS_STATE.c.state.in_(("pending", "failed")))
            .order_by(USERS_STATE.c.user_id)
        )
        return [(int(uid), int(favs)) for uid, favs in rows]


def user_states(engine: Engine, run: Run) -> Counter[str]:
    """How many of the run's users are pending, done, failed, missing."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(USERS_STATE.c.state, func.count()).where(USERS_STATE.c.run_id == run.id).group_by(USERS_STATE.c.state)
        )
        return Counter({"pending": 0, "done": 0, "failed": 0, "missing": 0} | {s: int(n) for s, n in rows})


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
        upsert(conn, Anime.__table__, list(anime.values()))
        upsert(conn, ENTRIES, [row for h in harvests for row in h.entries])
        upsert(conn, FAVORITES, [row for h in harvests for row in h.favorites])
        for h in harvests:
            if full:
                _delete_stale(conn, ENTRIES, h.user_ids, [r["id"] for r in h.entries])
                _delete_stale(conn, FAVORITES, h.user_ids, [r["id"] for r in h.favorites])
            for uid in h.user_ids:
                conn.execute(
                    update(USERS_STATE)
                    .where(USERS_STATE.c.run_id == run.id, USERS_STATE.c.user_id == uid)
                    .values(
                        state="done",
                        attempts=USERS_STATE.c.attempts + 1,
                        entries=h.entries_per_user[uid],
                        favorites=h.favorites_per_user[uid],
                        error=None,
                        updated_at=now,
                    )
                )
        for user_ids, error in failures:
            conn.execute(
                update(USERS_STATE)
                .where(USERS_STATE.c.run_id == run.id, USERS_STATE.c.user_id.in_(user_ids))
                .values(state="failed", attempts=USERS_STATE.c.attempts + 1, error=error.message[:500], updated_at=now)
            )
        _insert_errors(conn, run, [e for h in harvests for e in h.errors] + [e for _, e in failures], now)
        conn.execute(update(RUNS).where(RUNS.c.id == run.id).values(heartbeat_at=now))


def _delete_stale(conn: Connection, table: Any, user_ids: list[int], keep: list[int]) -> None:
    condition = table.c.user_id.in_(user_ids)
    if keep:
        condition = and_(condition, not_(table.c.id.in_(keep)))
    conn.execute(delete(table).where(condition))


def record_errors(engine: Engine, run: Run, errors: Sequence[RecordError]) -> None:
    """File errors outside a batch (e.g. a users page that could not be read)."""
    if errors:
        with engine.begin() as conn:
            _insert_errors(conn, run, list(errors), utcnow())


def _insert_errors(conn: Connection, run: Run, errors: list[RecordError], now: datetime) -> None:
    if errors:
        conn.execute(
            insert(ERRORS),
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


def finish_run(engine: Engine, run: Run, status: str, summary: dict[str, Any]) -> None:
    """Close the run with its final status and summary."""
    with engine.begin() as conn:
        conn.execute(
            update(RUNS)
            .where(RUNS.c.id == run.id)
            .values(status=status, finished_at=utcnow(), heartbeat_at=utcnow(), summary=summary)
        )
