"""Fetching batches of users and streaming what comes back to the store, in bounded memory.

Batches come from an async iterator (a page of the run's to-do list, or `--all`'s walk over the
users), a few at a time: a small queue of batches waits for `concurrency` fetchers, a small queue
of results for the one writer, so that nothing waits in memory by the thousand. A batch whose
libraries are heavy (more than `MAX_BATCH_ENTRIES` entries, said by its first page) is cut and its
parts fetched in turn, so that what each fetcher holds stays bounded as the crawl meets the site's
heaviest users.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from types import EllipsisType

from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import ledger
from kitsu_ingest.crawl.fetch import MAX_BATCH_ENTRIES, BatchTooLarge, Failure, Harvest, RecordError, harvest
from kitsu_ingest.crawl.progress import CrawlProgress, if_stored
from kitsu_ingest.crawl.tasks import gather_or_cancel
from kitsu_ingest.crawl.writer import write_harvests
from kitsu_ingest.errors import NotFoundError, RequestRejected, TransientError
from kitsu_ingest.kitsu.client import KitsuClient

__all__ = ["Batch", "batch_size", "fetch_and_write", "pending_batches", "split_batch"]

Batch = list[tuple[int, int]]
"""(user id, favourites count) of users fetched together."""
FLUSH_ROWS = 5000
FLUSH_SECONDS = 1.0
TODO_PAGE = 2000


def batch_size(users: int, batch_users: int, concurrency: int) -> int:
    """Batches as large as `batch_users` allows, but at least four per connection, so that the
    crawl's tail (the last, sequentially paged batches) keeps every connection busy."""
    return max(1, min(batch_users, math.ceil(users / (4 * concurrency))))


def split_batch(batch: Batch, entries: int) -> list[Batch]:
    """A batch whose users hold `entries` library entries, cut into consecutive parts that hold
    about `MAX_BATCH_ENTRIES` each if their libraries are alike (a part still too heavy is cut
    again when it is fetched; a single user is never cut)."""
    parts = min(len(batch), max(2, math.ceil(entries / MAX_BATCH_ENTRIES)))
    size = math.ceil(len(batch) / parts)
    return [batch[i : i + size] for i in range(0, len(batch), size)]


async def pending_batches(engine: Engine, run: ledger.Run, size: int) -> AsyncIterator[Batch]:
    """The run's to-do list (pending and failed users, in id order), read a page at a time."""
    after = 0
    while todo := await asyncio.to_thread(ledger.pending_users, engine, run, after=after, limit=TODO_PAGE):
        for i in range(0, len(todo), size):
            yield todo[i : i + size]
        after = todo[-1][0]


async def fetch_and_write(
    engine: Engine,
    client: KitsuClient,
    run: ledger.Run,
    batches: AsyncIterator[Batch],
    progress: CrawlProgress,
    anime_seen: set[int],
    report: Callable[[], None],
    *,
    since: datetime | None,
) -> None:
    """Harvest every batch with `client.concurrency` fetchers; one writer streams the results to
    the store (a full crawl, or with `since`, entries updated since then)."""
    todo: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=client.concurrency)
    results: asyncio.Queue[Harvest | Failure | None] = asyncio.Queue(maxsize=2)
    fetchers = client.concurrency

    async def feed() -> None:
        async for batch in batches:
            await todo.put(batch)
        for _ in range(fetchers):
            await todo.put(None)

    async def fetch_batch(batch: Batch) -> None:
        ids = [uid for uid, _ in batch]
        anomalies: list[RecordError] = []
        try:
            result = await harvest(client, ids, since=since, with_favorites=any(favs > 0 for _, favs in batch),
                                   fetched_at=ledger.utcnow(), known_anime=anime_seen, anomalies=anomalies)
        except BatchTooLarge as heavy:
            for part in split_batch(batch, heavy.entries):
                await fetch_batch(part)
            return
        except (TransientError, RequestRejected, NotFoundError) as exc:
            payload = getattr(exc, "payload", None)
            cause = getattr(exc, "cause", type(exc).__name__)
            await results.put(Failure(ids, RecordError(f"failed-{cause}", str(exc), payload), anomalies))
            return
        await results.put(result)

    async def fetch() -> None:
        while (batch := await todo.get()) is not None:
            await fetch_batch(batch)

    async def fetch_all() -> None:
        await gather_or_cancel([feed(), *(fetch() for _ in range(fetchers))])
        await results.put(None)

    writer = asyncio.create_task(_write(engine, run, since is None, results, progress, anime_seen, report))
    fetching = asyncio.create_task(fetch_all())
    try:
        await asyncio.wait({writer, fetching}, return_when=asyncio.FIRST_COMPLETED)
        if writer.done():  # the writer only stops early when the store failed
            fetching.cancel()
            await writer
        await fetching
        await writer
    finally:
        # None may outlive the crawl (and the client it uses).
        for task in (writer, fetching):
            task.cancel()
        await asyncio.gather(writer, fetching, return_exceptions=True)


async def _write(
    engine: Engine,
    run: ledger.Run,
    full: bool,
    results: asyncio.Queue[Harvest | Failure | None],
    progress: CrawlProgress,
    anime_seen: set[int],
    report: Callable[[], None],
) -> None:
    """Collect harvests and write them a few thousand rows at a time (or every second)."""
    pending: list[Harvest] = []
    failures: list[Failure] = []
    rows = 0
    last = time.monotonic()

    def flush() -> None:
        nonlocal pending, failures, rows, last
        for h in pending:  # each anime once per crawl, however many users have it
            h.anime = {k: v for k, v in h.anime.items() if k not in anime_seen}
            anime_seen.update(h.anime)
        with if_stored(progress):  # a failed write ends the crawl: what it would have stored is not counted
            for h in pending:
                progress.users_done += len(h.user_ids)
                progress.entries += len(h.entries)
                progress.favorites += len(h.favorites)
                progress.anime += len(h.anime)
                progress.nsfw_resolved += h.nsfw_resolved
                progress.nsfw_unresolved += h.nsfw_unresolved
                progress.record_errors += len(h.errors)
            progress.users_failed += sum(len(f.user_ids) for f in failures)
            for anomaly in [a for h in pending for a in h.anomalies] + [a for f in failures for a in f.anomalies]:
                progress.note(anomaly.kind)
            write_harvests(engine, run, pending, failures, full=full, summary=progress.as_dict())
        pending, failures, rows, last = [], [], 0, time.monotonic()
        report()

    item: Harvest | Failure | EllipsisType | None
    while True:
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that
            # meets a result, and the writer would then wait for a None that never comes.
            async with asyncio.timeout(FLUSH_SECONDS):
                item = await results.get()
        except TimeoutError:
            item = ...
        if item is None:
            break
        if isinstance(item, Harvest):
            pending.append(item)
            rows += len(item.entries) + len(item.favorites) + 1
        elif isinstance(item, Failure):
            failures.append(item)
        if (pending or failures) and (rows >= FLUSH_ROWS or time.monotonic() - last >= FLUSH_SECONDS):
            flush()
        elif item is ...:
            report()
            await asyncio.to_thread(ledger.heartbeat, engine, run, progress.as_dict())
    if pending or failures:
        flush()
