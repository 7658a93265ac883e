"""Bulk upsert throughput and memory: N library entries, half new and half updates of existing rows.

    .venv/bin/python bench/bench_upsert.py                       # SQLite (temp file), 1,000,000 rows
    .venv/bin/python bench/bench_upsert.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    .venv/bin/python bench/bench_upsert.py --rows 200000         # check that memory stays flat

The store is created fresh (tables dropped first: never point this at a store you care about).
N/2 rows are loaded first (not timed), then N rows are upserted: ids 0..N/2-1 update, the rest are new.
Rows are produced by a generator, so the figure includes building them, as in a crawl.
Peak memory is the process's maximum resident set size (ru_maxrss), before and after.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from kitsu_ingest.store import LibraryEntry, make_engine, metadata, upsert
from kitsu_ingest.store.migrate import upgrade

STATUSES = ("completed", "planned", "current", "on_hold", "dropped")
BASE = datetime(2021, 11, 30, 12, 0, 0)


def entries(start: int, stop: int, version: int) -> Iterator[dict[str, Any]]:
    """Library entry rows with ids in [start, stop); `version` changes the updatable fields."""
    for i in range(start, stop):
        t = BASE + timedelta(seconds=i)
        yield {
            "id": i,
            "user_id": i // 400,
            "anime_id": (i * 7919) % 20000,
            "status": STATUSES[(i + version) % 5],
            "progress": (i + version) % 26,
            "reconsuming": False,
            "reconsume_count": version,
            "rating_twenty": (i % 19) + 2 if i % 3 else None,
            "started_at": t,
            "finished_at": t if i % 2 else None,
            "progressed_at": t,
            "created_at": t,
            "updated_at": t + timedelta(days=version),
            "fetched_at": BASE,
        }


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        with engine.begin() as conn:
            metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(engine)
        half = args.rows // 2
        upsert(engine, LibraryEntry.__table__, entries(0, half, 0), batch_size=args.batch)
        rss_before = max_rss_mb()
        started = time.perf_counter()
        sent = upsert(
            engine, LibraryEntry.__table__, entries(0, args.rows, 1), batch_size=args.batch
        )
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(LibraryEntry)).scalar_one()
            updated = conn.execute(
                select(func.count()).where(LibraryEntry.reconsume_count == 1)
            ).scalar_one()
        assert stored == args.rows and updated == args.rows, (stored, updated)
        print(
            f"{engine.dialect.name}: upserted {sent:,} rows ({half:,} updates, "
            f"{args.rows - half:,} new) in {elapsed:.1f} s = {sent / elapsed:,.0f} rows/s; "
            f"peak RSS {rss_before:.0f} MB before, {max_rss_mb():.0f} MB after",
            file=sys.stdout,
        )
        engine.dispose()


if __name__ == "__main__":
    main()
