"""Reading events and writing results, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kitsu_ingest.segment import store as segment_store
from kitsu_ingest.segment.features import activity
from kitsu_ingest.segment.store import latest_run_id, load_cluster_labels, load_tiers, save_run
from kitsu_ingest.store import Favorite, LibraryEntry, SegmentRun, User, UserSegment, upsert
from kitsu_ingest.store.packed import load_events, load_users


def _fill(engine: Engine, rows: SimpleNamespace) -> None:
    user_row, entry_row, NOW = rows.user, rows.entry, rows.NOW
    upsert(engine, User.__table__, [user_row(1, 100, 2), user_row(5, 0, 0), user_row(70211, 9, 1)])
    upsert(engine, LibraryEntry.__table__, [
        entry_row(10, 1, 11, "completed"), entry_row(11, 1, 12, "dropped"),
        entry_row(12, 1, None, "completed"),          # NSFW, not resolved: skipped
        entry_row(13, 70211, 12, "planned"), entry_row(14, 70211, 13, "weird"),
        entry_row(15, 99, 11, "current"),             # user not in the store: dropped
    ])
    upsert(engine, Favorite.__table__, [
        {"id": 1, "user_id": 1, "anime_id": 11, "fav_rank": 0, "fetched_at": NOW}])


def test_events_are_read_packed_on_each_backend(store: Engine, rows: SimpleNamespace) -> None:
    _fill(store, rows)
    users = load_users(store)
    assert users.ids.tolist() == [1, 5, 70211]
    assert users.life.tolist() == [100, 0, 9]
    events = load_events(store, users, chunks=3)
    assert events.n_items == 14 and events.dropped == 1 and events.nnz == 5
    triples = sorted(zip(*(np.concatenate(a).tolist() for a in (events.rows, events.cols, events.codes))))
    assert triples == [(0, 11, 0), (0, 11, 7), (0, 12, 4), (2, 12, 2), (2, 13, 5)]
    act = activity(events)
    assert act.entries.tolist() == [2, 0, 2]
    assert act.active.tolist() == [0, 2]


def test_results_round_trip_on_each_backend(store: Engine) -> None:
    assert latest_run_id(store) is None and load_cluster_labels(store) is None
    ids = np.array([1, 5, 70211])
    first = save_run(store, bins="equal", k=None, params={"k": []}, summary={},
                     user_ids=ids, scores=np.array([1.5, np.nan, 2.5]),
                     tiers=["low", None, "high"], clusters=np.array([-1, -1, -1]))
    second = save_run(store, bins="quantile", k=2, params={"k": [2]}, summary={"tiers": {}},
                      user_ids=ids, scores=np.array([1.5, np.nan, 2.5]),
                      tiers=["low", None, "high"], clusters=np.array([1, -1, 0]))
    assert second > first and latest_run_id(store) == second
    labels = load_cluster_labels(store)
    assert labels is not None and labels.run_id == second and labels.k == 2
    assert labels.user_ids.tolist() == [1, 70211] and labels.labels.tolist() == [1, 0]
    assert load_cluster_labels(store, first) is None
    assert load_tiers(store, first) == {1: "low", 5: None, 70211: "high"}


def _save(engine: Engine, k: int | None, clusters: list[int], **changes: object) -> int:
    ids = np.array([1, 5, 70211])
    arguments: dict[str, Any] = {
        "bins": "equal", "k": k, "params": {}, "summary": {"users": 3}, "user_ids": ids,
        "scores": np.array([1.5, np.nan, 2.5]), "tiers": ["low", None, "high"], "clusters": np.array(clusters),
    }
    return save_run(engine, **(arguments | changes))


def test_a_run_and_its_rows_are_written_together(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    complete = _save(store, 2, [0, -1, 1])

    def killed(*args: object, **kwargs: object) -> None:  # the process dies while writing the rows
        raise KeyboardInterrupt

    monkeypatch.setattr(segment_store, "upsert", killed)
    with pytest.raises(KeyboardInterrupt):
        _save(store, 3, [2, -1, 1])
    monkeypatch.undo()
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SegmentRun.__table__)).scalar_one() == 1
    assert latest_run_id(store) == complete


def test_readers_skip_incomplete_runs(store: Engine) -> None:
    complete = _save(store, 2, [0, -1, 1])
    runs, users = SegmentRun.__table__, UserSegment.__table__
    with store.begin() as conn:  # what older versions left when killed between the run and its rows
        empty = conn.execute(runs.insert().values(created_at=datetime(2024, 1, 1), bins="equal", k=2, params={},
                                                  summary={"users": 3}).returning(runs.c.id)).scalar_one()
        partial = conn.execute(runs.insert().values(created_at=datetime(2024, 1, 1), bins="equal", k=2, params={},
                                                    summary={"users": 3}).returning(runs.c.id)).scalar_one()
        conn.execute(users.insert().values(run_id=partial, user_id=1, cluster=0))
    assert latest_run_id(store) == latest_run_id(store, with_clusters=True) == complete
    labels = load_cluster_labels(store)
    assert labels is not None and labels.run_id == complete and labels.labels.tolist() == [0, 1]
    assert load_cluster_labels(store, empty) is None and load_cluster_labels(store, partial) is None
    newest = _save(store, None, [-1, -1, -1])  # a newer complete run without clusters
    assert latest_run_id(store) == newest and latest_run_id(store, with_clusters=True) == complete
