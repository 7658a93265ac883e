"""A crawl's progress read back from the store alone (`kitsu-ingest crawl --status`): what a
running crawl stored with its last flush, or where an interrupted one stopped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import ledger
from kitsu_ingest.crawl.lock import held
from kitsu_ingest.crawl.progress import CrawlProgress
from kitsu_ingest.errors import ConfigError
from kitsu_ingest.store.models import CrawlRun, table

__all__ = ["CrawlStatus", "crawl_status"]

_RUNS = table(CrawlRun)


@dataclass(frozen=True)
class CrawlStatus:
    """One run as the store has it: its status, plan, users by state and last stored progress."""

    run_id: int
    status: str
    started_at: datetime
    heartbeat_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any]
    states: dict[str, int]
    progress: CrawlProgress
    locked: bool | None = None
    """Whether a live process holds the store's crawl lock (None where the OS cannot keep one)."""

    @property
    def alive(self) -> bool:
        """Running, and its process alive: it holds the store's crawl lock (a run killed, even by
        `kill -9`, holds it no more), or, where there is no such lock, it was heard from within the
        last minute (`ledger.STALE_AFTER`)."""
        if self.status != "running":
            return False
        if self.locked is not None:
            return self.locked
        return self.heartbeat_at is not None and ledger.utcnow() - self.heartbeat_at < ledger.STALE_AFTER

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "status": self.status if self.status != "running" or self.alive else "interrupted",
            "alive": self.alive, "started_at": self.started_at.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat() if self.heartbeat_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "plan": {k: v for k, v in self.params.items() if k not in ("users", "owner")},
            "users_by_state": self.states, "progress": self.progress.as_dict(),
        }


def crawl_status(engine: Engine, run_id: int | None = None) -> CrawlStatus:
    """The newest crawl run (or run `run_id`). Raises ConfigError when there is none."""
    query = select(_RUNS).order_by(_RUNS.c.id.desc()).limit(1)
    if run_id is not None:
        query = select(_RUNS).where(_RUNS.c.id == run_id)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise ConfigError(f"no crawl run {run_id} in this store" if run_id is not None
                          else "no crawl in this store yet: start one with `kitsu-ingest crawl`")
    run = ledger.Run(row["id"], dict(row["params"] or {}), resumed=False)
    states = dict(ledger.user_states(engine, run))
    progress = CrawlProgress.from_dict(dict(row["summary"] or {}))
    progress.run_id = run.id
    progress.users_done = states["done"]
    progress.users_failed = states["failed"]
    return CrawlStatus(run.id, row["status"], row["started_at"], row["heartbeat_at"], row["finished_at"],
                       run.params, states, progress, held(engine) if row["status"] == "running" else None)
