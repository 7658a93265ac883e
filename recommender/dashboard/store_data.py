"""What the store page and the segments page read beyond `store_stats`: the latest crawl runs with
their errors by kind, and the newest segmentation run (through kitsu_ingest's own readers, plus the
two small queries it has no function for: the latest run ids with their errors, a run's summary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from recommender.dashboard.views import run_summary

__all__ = ["SegmentRunInfo", "crawl_runs", "latest_segments"]


def crawl_runs(engine: Engine, runs: int = 5) -> list[dict[str, Any]]:
    """The `runs` latest crawl runs, newest first (`views.run_summary`: status, progress, rate,
    retries and crawl_errors by kind); database errors are raised."""
    from kitsu_ingest.crawl.status import crawl_status
    from kitsu_ingest.store.models import CrawlError, CrawlRun, table

    runs_table, errors_table = table(CrawlRun), table(CrawlError)
    with engine.connect() as conn:
        ids = [int(i) for i in conn.execute(select(runs_table.c.id).order_by(runs_table.c.id.desc()).limit(runs))
               .scalars()]
        counted = conn.execute(select(errors_table.c.run_id, errors_table.c.kind, func.count())
                               .where(errors_table.c.run_id.in_(ids))
                               .group_by(errors_table.c.run_id, errors_table.c.kind)).all() if ids else []
    errors: dict[int, dict[str, int]] = {}
    for run_id, kind, n in counted:
        errors.setdefault(int(run_id), {})[str(kind)] = int(n)
    return [run_summary(crawl_status(engine, i).as_dict(), errors.get(i, {})) for i in ids]


@dataclass(frozen=True)
class SegmentRunInfo:
    """A segmentation run as `kitsu-ingest segment-users` stored it."""

    run_id: int
    created_at: datetime
    bins: str
    k: int | None
    params: dict[str, Any]
    summary: dict[str, Any]


def latest_segments(engine: Engine) -> SegmentRunInfo | None:
    """The newest complete segmentation run, or None."""
    from kitsu_ingest.segment.store import latest_run_id
    from kitsu_ingest.store.models import SegmentRun, table

    run_id = latest_run_id(engine)
    if run_id is None:
        return None
    runs = table(SegmentRun)
    with engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().one()
    return SegmentRunInfo(run_id, row["created_at"], str(row["bins"]), row["k"], dict(row["params"] or {}),
                          dict(row["summary"] or {}))
