"""Top N for every user of a model, in blocks of users over a thread pool, into a Parquet file.

Each block is one `Model.recommend` call (for ALS, one BLAS call pinned to one thread, the pool
supplying the parallelism, and a pruned selection, `recommender.ranking.TopN`); numpy releases the
GIL for both. Rows are written as they come, in user order: user_id, rank (1 = best), anime_id,
score; into a temporary file renamed over `out` at the end, so `out` is whole or untouched.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.data.ids import IdIndex
from recommender.errors import RecommenderError
from recommender.ranking import Exclusions

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from recommender.data.store import StoreReader
    from recommender.models.base import Model
    from recommender.registry import SavedModel

__all__ = ["BatchSummary", "exclusions_from_history", "exclusions_from_store", "recommend_all", "top_n_all"]


@dataclass(frozen=True)
class BatchSummary:
    users: int
    rows: int
    seconds: float
    path: Path

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds if self.seconds else float("inf")


def exclusions_from_history(model: SavedModel) -> Exclusions:
    """A file model's users' training rows (what each already has), as model columns."""
    from recommender.serving.catalogue import catalogue_for

    catalogue_for(model, None)  # a file model saved without its history says so
    assert model.history is not None
    return Exclusions.from_matrix(model.history.matrix)


def exclusions_from_store(store: StoreReader, model: SavedModel,
                          include_planned: bool = False) -> Exclusions:
    """Every model user's stored library and favourites, as model columns (read as typed
    columns, `StoreReader.event_columns`)."""
    from recommender.errors import DataError

    try:
        events = store.event_columns()
    except DataError:  # nothing stored: nothing to exclude
        return Exclusions.empty(len(model.user_ids))
    keep = events.codes != events.kinds.index("planned") if include_planned else np.ones(len(events.codes), bool)
    rows = IdIndex(model.user_ids).positions(events.users[keep])
    cols = IdIndex(model.item_ids).positions(events.items[keep])
    known = (rows >= 0) & (cols >= 0)
    return Exclusions.from_pairs(rows[known], cols[known], len(model.user_ids))


def top_n_all(model: Model, users: int, n: int, exclusions: Exclusions | None = None, *, threads: int = 0,
              rows: int = 256, on_block: Callable[[int, NDArray[np.int64], NDArray[np.float32]], None]) -> None:
    """Call `on_block(first_row, columns, scores)` for consecutive blocks of the model's `users` rows, in order."""
    from threadpoolctl import threadpool_limits

    workers = threads or os.cpu_count() or 1

    def work(start: int) -> tuple[int, Any, Any]:
        stop = min(start + rows, users)
        block = None if exclusions is None else exclusions.rows(start, stop)
        return (start, *model.recommend(np.arange(start, stop), n, block))

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        pending = []
        for start in range(0, users, rows):  # a bounded window keeps memory flat and the output in order
            pending.append(pool.submit(work, start))
            if len(pending) >= 4 * workers:
                on_block(*pending.pop(0).result())
        for future in pending:
            on_block(*future.result())


def recommend_all(saved: SavedModel, out: Path, n: int = 10, exclusions: Exclusions | None = None,
                  *, threads: int = 0, rows: int = 256) -> BatchSummary:
    """Write the top `n` of every user of `saved` to the Parquet file `out` (whole, or not at all);
    BrokenModel (and `out` untouched) if the model is not finite."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kitsu_ingest.outputs import written_whole
    from recommender.serving.recommender import BrokenModel, is_finite

    if not is_finite(saved.model):
        raise BrokenModel(saved.version)

    def id_type(ids: NDArray[Any]) -> pa.DataType:
        return pa.int64() if ids.dtype.kind in "iu" else pa.string()

    schema = pa.schema([("user_id", id_type(saved.user_ids)), ("rank", pa.int16()),
                        ("anime_id", id_type(saved.item_ids)), ("score", pa.float32())])
    written = 0
    buffered: list[pa.RecordBatch] = []
    started = time.perf_counter()

    def flush(writer: pq.ParquetWriter) -> None:
        if buffered:
            writer.write_table(pa.Table.from_batches(buffered, schema))
            buffered.clear()

    def block_rows(start: int, columns: NDArray[np.int64], scores: NDArray[np.float32]) -> pa.RecordBatch:
        m, width = columns.shape
        keep = (columns >= 0).ravel()
        users = np.repeat(saved.user_ids[start:start + m], width)[keep]
        ranks = np.tile(np.arange(1, width + 1, dtype=np.int16), m)[keep]
        anime = saved.item_ids[columns.ravel()[keep]]
        return pa.RecordBatch.from_arrays(
            [pa.array(users), pa.array(ranks), pa.array(anime), pa.array(scores.ravel()[keep])], schema=schema)

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with written_whole(out) as partial, pq.ParquetWriter(partial, schema) as writer:

            def on_block(start: int, columns: NDArray[np.int64], scores: NDArray[np.float32]) -> None:
                nonlocal written
                buffered.append(block_rows(start, columns, scores))
                written += buffered[-1].num_rows
                if sum(b.num_rows for b in buffered) >= 1_000_000:
                    flush(writer)

            top_n_all(saved.model, len(saved.user_ids), n, exclusions, threads=threads, rows=rows,
                      on_block=on_block)
            flush(writer)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise
        raise RecommenderError(f"cannot write {out}: {exc.strerror or exc}") from None
    return BatchSummary(len(saved.user_ids), written, time.perf_counter() - started, out)
