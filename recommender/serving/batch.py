"""Top N for every user of a model, in blocks of users over a thread pool, into a Parquet file.

Each block is one BLAS call (pinned to one thread: the pool supplies the parallelism) and a
pruned selection (`recommender.topn.TopN`); numpy releases the GIL for both. Rows are written as
they come, in user order: user_id, rank (1 = best), anime_id, score.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.errors import RecommenderError
from recommender.topn import Exclusions, IdIndex, TopN

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from recommender.lookup import StoreReader
    from recommender.registry import SavedModel

__all__ = ["BatchSummary", "exclusions_from_store", "recommend_all", "top_n_all"]


@dataclass(frozen=True)
class BatchSummary:
    users: int
    rows: int
    seconds: float
    path: Path

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds if self.seconds else float("inf")


def exclusions_from_store(store: StoreReader, model: SavedModel,
                          include_planned: bool = False) -> Exclusions:
    """Every model user's stored library and favourites, as model columns."""
    users, items = IdIndex(model.user_ids), IdIndex(model.item_ids)
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    for user_ids, anime_ids in store.all_events(include_planned):
        r, c = users.positions(user_ids), items.positions(anime_ids)
        keep = (r >= 0) & (c >= 0)
        rows.append(r[keep])
        cols.append(c[keep])
    if not rows:
        return Exclusions.empty(len(model.user_ids))
    return Exclusions.from_pairs(np.concatenate(rows), np.concatenate(cols), len(model.user_ids))


def top_n_all(user_factors: NDArray[np.floating], item_factors: NDArray[np.floating], n: int,
              exclusions: Exclusions | None = None, *, threads: int = 0, rows: int = 256,
              on_block: Callable[[int, NDArray[np.int64], NDArray[np.float32]], None]) -> None:
    """Call `on_block(first_row, columns, scores)` for consecutive blocks of users, in order."""
    from threadpoolctl import threadpool_limits

    ranker = TopN(item_factors)
    workers = threads or os.cpu_count() or 1
    starts = range(0, len(user_factors), rows)

    def work(start: int) -> tuple[int, Any, Any]:
        stop = min(start + rows, len(user_factors))
        exclude = None
        if exclusions is not None:
            exclude = (exclusions.indptr[start:stop + 1], exclusions.indices)
        return (start, *ranker.batch(user_factors[start:stop], n, exclude))

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        pending = []
        for start in starts:  # a bounded window keeps memory flat and the output in order
            pending.append(pool.submit(work, start))
            if len(pending) >= 4 * workers:
                on_block(*pending.pop(0).result())
        for future in pending:
            on_block(*future.result())


def recommend_all(model: SavedModel, out: Path, n: int = 10, exclusions: Exclusions | None = None,
                  *, threads: int = 0, rows: int = 256) -> BatchSummary:
    """Write the top `n` of every user of `model` to the Parquet file `out`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    numeric_users = model.user_ids.dtype.kind in "iu"
    numeric_items = model.item_ids.dtype.kind in "iu"
    schema = pa.schema([("user_id", pa.int64() if numeric_users else pa.string()),
                        ("rank", pa.int16()),
                        ("anime_id", pa.int64() if numeric_items else pa.string()),
                        ("score", pa.float32())])
    written = [0]
    buffered: list[pa.RecordBatch] = []
    started = time.perf_counter()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        writer = pq.ParquetWriter(out, schema)
    except OSError as exc:
        raise RecommenderError(f"cannot write {out}: {exc.strerror or exc}") from None

    def flush() -> None:
        if buffered:
            writer.write_table(pa.Table.from_batches(buffered, schema))
            buffered.clear()

    def on_block(start: int, columns: Any, scores: Any) -> None:
        m, width = columns.shape
        keep = (columns >= 0).ravel()
        users = np.repeat(model.user_ids[start:start + m], width)[keep]
        ranks = np.tile(np.arange(1, width + 1, dtype=np.int16), m)[keep]
        anime = model.item_ids[columns.ravel()[keep]]
        buffered.append(pa.RecordBatch.from_arrays(
            [pa.array(users), pa.array(ranks), pa.array(anime), pa.array(scores.ravel()[keep])],
            schema=schema))
        written[0] += int(keep.sum())
        if sum(b.num_rows for b in buffered) >= 1_000_000:
            flush()

    with writer:
        top_n_all(model.user_factors, model.item_factors, n, exclusions, threads=threads,
                  rows=rows, on_block=on_block)
        flush()
    return BatchSummary(len(model.user_ids), written[0], time.perf_counter() - started, out)
