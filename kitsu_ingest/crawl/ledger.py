"""The crawl ledger in the store: which run owns the store (the OS-level lock of `lock.py`, held
for the crawl's life; a heartbeat where the OS cannot keep that lock), its parameters for a
resume, and the progress of each of its users (pending, done, failed, missing).

What happens to the rows a batch brings back is `writer.py`'s concern; it moves users to `done`
in the same transaction as their rows, so a kill loses nothing.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from kitsu_ingest.crawl.lock import CrawlLock, holder, try_lock
from kitsu_ingest.errors import ConfigError, StoreError
from kitsu_ingest.store.models import Anime, CrawlRun, CrawlUser, User, table
from kitsu_ingest.store.upsert import upsert

__all__ = [
    "ABANDONED",
    "STALE_AFTER",
    "Run",
    "anime_stored_by",
    "discovered_users",
    "finish_run",
    "heartbeat",
    "mark_touched",
    "measured_requests_per_user",
    "open_run",
    "pending_users",
    "register_users",
    "release",
    "touched_users",
    "update_params",
    "user_states",
    "utcnow",
]

STALE_AFTER = timedelta(seconds=60)
"""Without an OS-level lock, a running run silent this long is taken for dead."""
ABANDONED = "abandoned"
"""The status of a run that can never be resumed (its stored plan is invalid): `--resume` skips it."""
_RUNS, _USERS_STATE, _USERS, _ANIME = table(CrawlRun), table(CrawlUser), table(User), table(Anime)


def utcnow() -> datetime:
    """Naive UTC now, as the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Run:
    """The crawl run this process owns."""

    id: int
    params: dict[str, Any]
    resumed: bool
    lock: CrawlLock | None = field(default=None, repr=False, compare=False)
    summary: dict[str, Any] = field(default_factory=dict)
    """What a resumed run's earlier sessions stored of their progress (empty for a new run)."""


def _lock_writers(conn: Connection) -> None:
    """Serialise run creation between processes: SQLite's write lock, a PostgreSQL advisory lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7021120)"))
    else:
        conn.execute(update(_RUNS).where(text("0")).values(status=_RUNS.c.status))


def open_run(engine: Engine, params: dict[str, Any], base_url: str, *, resume: bool) -> Run:
    """Start a crawl run (or, with `resume`, take up the newest unfinished one), holding the
    store's crawl lock until `release`.

    Raises StoreError when another live crawl is writing this store, ConfigError when there is
    nothing to resume. A run left `running` by a dead process is marked interrupted.
    """
    lock = try_lock(engine)
    if lock is None:
        who = holder(engine)
        with engine.connect() as conn:
            running = conn.execute(select(_RUNS.c.id).where(_RUNS.c.status == "running")).scalars().first()
        details = ", ".join(part for part in (f"run {running}" if running else "", who or "") if part)
        raise StoreError(
            f"another crawl{f' ({details})' if details else ''} is writing this store; "
            "wait for it to finish, or stop it and use --resume"
        )
    try:
        run = _open_run(engine, params, base_url, resume=resume, exclusive=lock.exclusive)
    except BaseException:
        lock.release()
        raise
    run.lock = lock
    return run


def release(run: Run) -> None:
    """Let another crawl have the store (the run's lock is released; idempotent)."""
    if run.lock is not None:
        run.lock.release()


def _open_run(engine: Engine, params: dict[str, Any], base_url: str, *, resume: bool, exclusive: bool) -> Run:
    now = utcnow()
    owner = {"host": socket.gethostname(), "pid": os.getpid()}
    with engine.begin() as conn:
        _lock_writers(conn)
        for run_id, beat in conn.execute(
            select(_RUNS.c.id, _RUNS.c.heartbeat_at).where(_RUNS.c.status == "running")
        ):
            # Holding the OS-level lock proves the run's process is dead, whatever its heartbeat.
            if not exclusive and beat is not None and now - beat < STALE_AFTER:
                raise StoreError(
                    f"another crawl (run {run_id}) is writing this store (last seen "
                    f"{(now - beat).seconds} s ago); wait for it to finish, or stop it and use --resume"
                )
            conn.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(status="interrupted"))
        if resume:
            row = conn.execute(
                select(_RUNS.c.id, _RUNS.c.params, _RUNS.c.summary)
                .where(_RUNS.c.status.not_in(("done", ABANDONED)))
                .order_by(_RUNS.c.id.desc())
                .limit(1)
            ).first()
            if row is None:
                raise ConfigError("nothing to resume: every crawl in this store has finished")
            conn.execute(
                update(_RUNS).where(_RUNS.c.id == row.id).values(status="running", heartbeat_at=now)
            )
            return Run(row.id, dict(row.params) | {"owner": owner}, resumed=True, summary=dict(row.summary or {}))
        run_id = conn.execute(
            insert(_RUNS)
            .values(started_at=now, heartbeat_at=now, status="running", base_url=base_url, params=params)
            .returning(_RUNS.c.id)
        ).scalar_one()
        return Run(run_id, params, resumed=False)


def update_params(engine: Engine | Connection, run: Run, **changes: Any) -> None:
    """Record facts about the run (e.g. that its users are registered, or where its walk over the
    users stands) for a later resume; with a Connection, in the caller's transaction."""
    run.params = {k: v for k, v in (run.params | changes).items() if k != "owner"}
    if isinstance(engine, Connection):
        engine.execute(update(_RUNS).where(_RUNS.c.id == run.id).values(params=run.params))
        return
    with engine.begin() as conn:
        conn.execute(update(_RUNS).where(_RUNS.c.id == run.id).values(params=run.params))


def heartbeat(engine: Engine, run: Run, summary: dict[str, Any] | None = None) -> None:
    """Say this crawl is alive (another process treats a run silent for a minute as dead), and
    store its progress so far (what `crawl --status` reads)."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if summary is not None:
        values["summary"] = summary
    with engine.begin() as conn:
        conn.execute(update(_RUNS).where(_RUNS.c.id == run.id).values(**values))


def register_users(
    engine: Engine, run: Run, users: Sequence[dict[str, Any]], missing: Iterable[int] = (),
    **params: Any,
) -> list[int]:
    """Store the profiles of the run's users and add them to its to-do list (once); `params`
    are recorded with the run in the same transaction (see `update_params`). Returns the ids of
    the users it added to the to-do list (pending), in the order given."""
    now = utcnow()
    with engine.begin() as conn:
        if params:
            update_params(conn, run, **params)
        upsert(conn, _USERS, users)
        ids, missing = [u["id"] for u in users], list(missing)
        mine = (_USERS_STATE.c.run_id == run.id, _USERS_STATE.c.user_id.in_(ids + missing))
        conn.execute(delete(_USERS_STATE).where(*mine, _USERS_STATE.c.state == "discovered"))
        known = set(conn.execute(select(_USERS_STATE.c.user_id).where(*mine)).scalars())
        new = [
            {"run_id": run.id, "user_id": uid, "state": state, "attempts": 0, "updated_at": now}
            for uid, state in [*((i, "pending") for i in ids), *((i, "missing") for i in missing)]
            if uid not in known
        ]
        if new:
            conn.execute(insert(_USERS_STATE), new)
        return [row["user_id"] for row in new if row["state"] == "pending"]


def pending_users(engine: Engine, run: Run, *, after: int = 0, limit: int | None = None) -> list[tuple[int, int]]:
    """(user id, favourites count) of the run's users still to crawl, failed ones included, in id
    order: those after user `after`, at most `limit` of them (to read a long to-do list in pages)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_USERS_STATE.c.user_id, func.coalesce(_USERS.c.favorites_count, 1))
            .select_from(_USERS_STATE.outerjoin(_USERS, _USERS.c.id == _USERS_STATE.c.user_id))
            .where(_USERS_STATE.c.run_id == run.id, _USERS_STATE.c.state.in_(("pending", "failed")),
                   _USERS_STATE.c.user_id > after)
            .order_by(_USERS_STATE.c.user_id)
            .limit(limit)
        )
        return [(int(uid), int(favs)) for uid, favs in rows]


def discovered_users(engine: Engine, run: Run, *, after: int = 0, limit: int = 2000) -> list[int]:
    """Ids of users a delta met that the store did not know (still to register), in id order."""
    with engine.connect() as conn:
        return list(conn.execute(
            select(_USERS_STATE.c.user_id)
            .where(_USERS_STATE.c.run_id == run.id, _USERS_STATE.c.state == "discovered",
                   _USERS_STATE.c.user_id > after)
            .order_by(_USERS_STATE.c.user_id).limit(limit)
        ).scalars())


def mark_touched(conn: Connection, run: Run, changed: dict[int, int], state: str = "touched") -> int:
    """Record the users a site-wide delta met, with their changed entries, in the caller's
    transaction: `touched` (stored users: those whose deletions only a re-crawl can see) or
    `discovered` (users the store does not know yet, to register and crawl whole). Returns how
    many of them the run had not met before."""
    if not changed:
        return 0
    known = set(conn.execute(
        select(_USERS_STATE.c.user_id)
        .where(_USERS_STATE.c.run_id == run.id, _USERS_STATE.c.user_id.in_(list(changed)))
    ).scalars())
    now = utcnow()
    new = [{"run_id": run.id, "user_id": uid, "state": state, "attempts": 0, "entries": n, "updated_at": now}
           for uid, n in changed.items() if uid not in known]
    if new:
        conn.execute(insert(_USERS_STATE), new)
    for uid, n in changed.items():
        if uid in known:
            conn.execute(update(_USERS_STATE)
                         .where(_USERS_STATE.c.run_id == run.id, _USERS_STATE.c.user_id == uid)
                         .values(entries=func.coalesce(_USERS_STATE.c.entries, 0) + n))
    return len(new)


def touched_users(engine: Engine, run_id: int) -> tuple[int, ...]:
    """The stored users the site-wide delta `run_id` met (to crawl again whole), in id order."""
    with engine.connect() as conn:
        return tuple(conn.execute(
            select(_USERS_STATE.c.user_id)
            .where(_USERS_STATE.c.run_id == run_id, _USERS_STATE.c.state == "touched")
            .order_by(_USERS_STATE.c.user_id)
        ).scalars())


def anime_stored_by(engine: Engine, run: Run) -> set[int]:
    """Ids of the anime stored since the run started: those its earlier sessions wrote (a resumed
    run writes each anime once, and counts it once, over all its sessions)."""
    started = select(_RUNS.c.started_at).where(_RUNS.c.id == run.id).scalar_subquery()
    with engine.connect() as conn:
        return set(conn.execute(select(_ANIME.c.id).where(_ANIME.c.fetched_at >= started)).scalars())


def measured_requests_per_user(engine: Engine) -> float | None:
    """Requests per user over the store's finished crawls of whole users (deltas left out)."""
    with engine.connect() as conn:
        summaries = conn.execute(select(_RUNS.c.summary, _RUNS.c.params).where(_RUNS.c.status == "done")).all()
    requests = users = 0
    for summary, params in summaries:
        if summary and not (params or {}).get("since"):
            requests += int(summary.get("requests") or 0)
            users += int(summary.get("users_done") or 0)
    return requests / users if users else None


def user_states(engine: Engine, run: Run) -> Counter[str]:
    """How many of the run's users are pending, done, failed, missing."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_USERS_STATE.c.state, func.count())
            .where(_USERS_STATE.c.run_id == run.id)
            .group_by(_USERS_STATE.c.state)
        )
        return Counter({"pending": 0, "done": 0, "failed": 0, "missing": 0, "touched": 0, "discovered": 0}
                       | {s: int(n) for s, n in rows})


def finish_run(engine: Engine, run: Run, status: str, summary: dict[str, Any]) -> None:
    """Close the run with its final status and summary."""
    with engine.begin() as conn:
        conn.execute(
            update(_RUNS)
            .where(_RUNS.c.id == run.id)
            .values(status=status, finished_at=utcnow(), heartbeat_at=utcnow(), summary=summary)
        )
