"""Segmentation results in the store: runs, per-user tiers and clusters, and reading labels back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from kitsu_ingest.store.models import SegmentRun, UserSegment, table
from kitsu_ingest.store.upsert import upsert

__all__ = ["ClusterLabels", "latest_run_id", "load_cluster_labels", "load_tiers", "save_run"]

_RUNS, _USERS = table(SegmentRun), table(UserSegment)


@dataclass(frozen=True)
class ClusterLabels:
    """The clusters of one run: user ids (ascending) and their cluster numbers 0..k-1."""

    run_id: int
    k: int
    user_ids: np.ndarray
    labels: np.ndarray


def _rows(run_id: int, user_ids: np.ndarray, scores: np.ndarray, tiers: list[str | None],
          clusters: np.ndarray) -> Iterator[dict[str, Any]]:
    for uid, score, tier, cluster in zip(user_ids.tolist(), scores.tolist(), tiers,
                                         clusters.tolist()):
        yield {"run_id": run_id, "user_id": uid,
               "interaction_score": None if score != score else score,  # NaN -> NULL
               "tier": tier, "cluster": None if cluster < 0 else cluster}


def save_run(
    engine: Engine, *, bins: str, k: int | None, params: dict[str, Any], summary: dict[str, Any],
    user_ids: np.ndarray, scores: np.ndarray, tiers: list[str | None], clusters: np.ndarray,
) -> int:
    """Record a run and every user's result (score and tier None when left out, cluster -1 none),
    in one transaction: a run killed while writing leaves nothing, never a run without its rows."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        run_id = int(conn.execute(
            insert(_RUNS).values(created_at=now, bins=bins, k=k, params=params, summary=summary).returning(_RUNS.c.id)
        ).scalar_one())
        upsert(conn, _USERS, _rows(run_id, user_ids, scores, tiers, clusters))
    return run_id


def _is_complete(conn: Connection, run_id: int, summary: Any) -> bool:
    """Whether a run has all its users' rows (its summary says how many; an older version of
    `save_run`, killed half-way, could leave a run with some or none)."""
    rows = conn.execute(select(func.count()).where(_USERS.c.run_id == run_id)).scalar_one()
    expected = summary.get("users") if isinstance(summary, dict) else None
    return rows > 0 and (not isinstance(expected, int) or rows == expected)


def latest_run_id(engine: Engine, *, with_clusters: bool = False) -> int | None:
    """The newest complete run (with `with_clusters`, the newest that clustered users), or None."""
    query = select(_RUNS.c.id, _RUNS.c.summary).order_by(_RUNS.c.id.desc())
    if with_clusters:
        query = query.where(_RUNS.c.k.is_not(None))
    with engine.connect() as conn:
        for run_id, summary in conn.execute(query).all():
            if _is_complete(conn, run_id, summary):
                return int(run_id)
    return None


def load_cluster_labels(engine: Engine, run_id: int | None = None) -> ClusterLabels | None:
    """Cluster labels of `run_id` (default: the newest complete run with clusters); None if there
    is none, or if `run_id` is incomplete."""
    if run_id is None:
        run_id = latest_run_id(engine, with_clusters=True)
    else:
        with engine.connect() as conn:
            summary = conn.execute(select(_RUNS.c.summary).where(_RUNS.c.id == run_id)).scalar()
            if not _is_complete(conn, run_id, summary):
                return None
    if run_id is None:
        return None
    query = (select(_USERS.c.user_id, _USERS.c.cluster)
             .where(_USERS.c.run_id == run_id, _USERS.c.cluster.is_not(None))
             .order_by(_USERS.c.user_id))
    with engine.connect() as conn:
        k = conn.execute(select(_RUNS.c.k).where(_RUNS.c.id == run_id)).scalar()
        rows = conn.execute(query).all()
    if k is None or not rows:
        return None
    ids, labels = (np.asarray(c, dtype=np.int64) for c in zip(*rows))
    return ClusterLabels(run_id, int(k), ids, labels.astype(np.int32))


def load_tiers(engine: Engine, run_id: int) -> dict[int, str | None]:
    """User id -> tier of one run."""
    query = select(_USERS.c.user_id, _USERS.c.tier).where(_USERS.c.run_id == run_id)
    with engine.connect() as conn:
        return {int(u): t for u, t in conn.execute(query)}
