"""The crawl: choose users, fetch them in batches with bounded concurrency, stream to the store."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import ledger
from kitsu_ingest.crawl.fetch import Harvest, RecordError, harvest
from kitsu_ingest.crawl.mapping import MalformedRecord, user_row
from kitsu_ingest.crawl.writer import record_errors, write_harvests
from kitsu_ingest.domain import MAX_ID
from kitsu_ingest.errors import ConfigError, NotFoundError, RequestRejected, TransientError
from kitsu_ingest.kitsu.client import KitsuClient
from kitsu_ingest.store.models import User, table

__all__ = ["CrawlPlan", "CrawlProgress", "crawl", "sample_offsets"]

PAGE = 20  # users per /users page, the API's maximum
FLUSH_ROWS = 5000
FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class CrawlPlan:
    """What to crawl: a random sample of `sample` users (seeded), or the given `users`;
    with `since`, only entries updated since then (an incremental refresh)."""

    sample: int | None = None
    seed: int = 0
    users: tuple[int, ...] | None = None
    since: datetime | None = None
    batch_users: int = 20

    def __post_init__(self) -> None:
        if self.sample is not None and self.sample < 1:
            raise ConfigError(f"--sample must be a positive number of users, not {self.sample}")
        if not 1 <= self.batch_users <= 50:
            raise ConfigError("--batch-users must be between 1 and 50")
        wrong = next((u for u in self.users or () if not (isinstance(u, int) and 1 <= u <= MAX_ID)), None)
        if wrong is not None:
            raise ConfigError(f"user id {wrong} is not a Kitsu id (ids are whole numbers from 1 to {MAX_ID})")

    def to_params(self) -> dict[str, Any]:
        params = asdict(self)
        params["users"] = list(self.users) if self.users is not None else None
        params["since"] = self.since.isoformat() if self.since else None
        return params

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> CrawlPlan:
        users = params.get("users")
        since = params.get("since")
        return cls(
            sample=params.get("sample"),
            seed=params.get("seed", 0),
            users=tuple(users) if users is not None else None,
            since=datetime.fromisoformat(since) if since else None,
            batch_users=params.get("batch_users", 20),
        )


@dataclass
class CrawlProgress:
    """Live counters, handed to the progress callback and returned as the summary."""

    run_id: int = 0
    phase: str = "starting"
    users_total: int = 0
    users_done: int = 0
    users_failed: int = 0
    users_missing: int = 0
    entries: int = 0
    favorites: int = 0
    anime: int = 0
    nsfw_resolved: int = 0
    nsfw_unresolved: int = 0
    record_errors: int = 0
    requests: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    status: str = "running"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_offsets(total: int, sample: int, seed: int) -> list[int]:
    """Offsets of the random /users pages a sample reads, in the order drawn (seeded)."""
    pages = math.ceil(total / PAGE)
    wanted = min(pages, math.ceil(sample / PAGE))
    return [page * PAGE for page in random.Random(seed).sample(range(pages), wanted)]


async def crawl(
    engine: Engine,
    client: KitsuClient,
    plan: CrawlPlan,
    *,
    resume: bool = False,
    on_progress: Callable[[CrawlProgress], None] | None = None,
) -> CrawlProgress:
    """Run (or resume) a crawl into `engine` and return its summary.

    Users are written in batches, each in one transaction with their move to `done`; stopping
    at any moment loses at most the batches in flight, which `--resume` fetches again.
    """
    run = ledger.open_run(engine, plan.to_params(), client.base_url, resume=resume)
    try:
        return await _crawl_run(engine, client, run, plan, on_progress)
    finally:
        ledger.release(run)


def _resumed_plan(engine: Engine, run: ledger.Run) -> CrawlPlan:
    """The plan a resumed run stored; a plan that can never run (stored by an older version that
    did not check it) sets the run aside, so that later resumes do not meet it again."""
    try:
        return CrawlPlan.from_params(run.params)
    except (ConfigError, TypeError, ValueError) as exc:
        ledger.finish_run(engine, run, ledger.ABANDONED, {"error": str(exc)})
        raise ConfigError(
            f"crawl run {run.id} cannot be resumed ({exc}); it is now marked {ledger.ABANDONED}: start a new crawl"
        ) from None


async def _crawl_run(
    engine: Engine,
    client: KitsuClient,
    run: ledger.Run,
    plan: CrawlPlan,
    on_progress: Callable[[CrawlProgress], None] | None,
) -> CrawlProgress:
    plan = _resumed_plan(engine, run) if run.resumed else plan
    progress = CrawlProgress(run_id=run.id)
    started = time.monotonic()
    anime_seen: set[int] = set()

    def report() -> None:
        progress.requests = client.stats.requests
        progress.retries = dict(client.stats.retries)
        progress.elapsed = time.monotonic() - started
        if on_progress:
            on_progress(progress)

    try:
        if not run.params.get("registered"):
            progress.phase = "choosing users"
            report()
            await _register(engine, client, run, plan, progress, report)
            ledger.update_params(engine, run, registered=True)
        todo = await asyncio.to_thread(ledger.pending_users, engine, run)
        states = await asyncio.to_thread(ledger.user_states, engine, run)
        progress.phase = "crawling"
        progress.users_total = sum(states.values())
        progress.users_done = states["done"]
        progress.users_missing = states["missing"]
        report()
        await _crawl_users(engine, client, run, plan, todo, progress, anime_seen, report)
    except BaseException:
        progress.status, progress.phase = "interrupted", "stopped"
        _finish_quietly(engine, run, progress)
        raise
    progress.status = "incomplete" if progress.users_failed else "done"
    progress.phase = "finished"
    report()
    await asyncio.to_thread(ledger.finish_run, engine, run, progress.status, progress.as_dict())
    return progress


def _finish_quietly(engine: Engine, run: ledger.Run, progress: CrawlProgress) -> None:
    """Mark the run interrupted if the store still lets us (it may be the store that failed)."""
    try:
        ledger.finish_run(engine, run, "interrupted", progress.as_dict())
    except Exception:  # the original error is the one to report
        pass


async def _register(
    engine: Engine,
    client: KitsuClient,
    run: ledger.Run,
    plan: CrawlPlan,
    progress: CrawlProgress,
    report: Callable[[], None],
) -> None:
    """Fetch the profiles of the run's users and put them on its to-do list."""
    fetched_at = ledger.utcnow()
    if plan.users is None and plan.since is not None:
        plan = CrawlPlan(users=tuple(await asyncio.to_thread(_stored_user_ids, engine)), since=plan.since)
        ledger.update_params(engine, run, users=list(plan.users or ()))
    if plan.users is not None:
        ids = list(dict.fromkeys(plan.users))
        requests = [
            ("/users", {"filter[id]": ",".join(map(str, chunk)), "page[limit]": PAGE}, len(chunk))
            for chunk in (ids[i : i + PAGE] for i in range(0, len(ids), PAGE))
        ]
    else:
        assert plan.sample is not None
        total = run.params.get("total")
        if total is None:
            total = max(0, (await client.get("/users", {"page[limit]": 1})).count or 0)
            ledger.update_params(engine, run, total=total)
        offsets = sample_offsets(total, plan.sample, plan.seed)
        requests = [
            ("/users", {"page[limit]": PAGE, "page[offset]": offset}, min(PAGE, plan.sample - PAGE * i))
            for i, offset in enumerate(offsets)
        ]

    async def one(path: str, params: dict[str, Any], keep: int) -> None:
        document = await client.get(path, params)
        rows, errors = [], []
        for resource in document.data[:keep]:
            try:
                rows.append(user_row(resource, fetched_at))
            except MalformedRecord as exc:
                errors.append(RecordError("malformed-users", str(exc), exc.payload, document.url))
        missing: list[int] = []
        if "filter[id]" in params:
            asked = {int(v) for v in params["filter[id]"].split(",")}
            missing = sorted(asked - {row["id"] for row in rows})
        await asyncio.to_thread(ledger.register_users, engine, run, rows, missing)
        await asyncio.to_thread(record_errors, engine, run, errors)
        progress.users_total += len(rows) + len(missing)
        progress.users_missing += len(missing)
        report()

    await _gather_bounded([one(*request) for request in requests], limit=16)


def _stored_user_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        ids = table(User).c.id
        return list(conn.execute(select(ids).order_by(ids)).scalars())


async def _gather_bounded(coroutines: list[Any], limit: int) -> None:
    """Await coroutines, at most `limit` at once; the first failure cancels the rest."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for coroutine in coroutines:
        queue.put_nowait(coroutine)

    async def worker() -> None:
        while not queue.empty():
            await queue.get_nowait()

    tasks = [asyncio.create_task(worker()) for _ in range(min(limit, len(coroutines)))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        while not queue.empty():
            queue.get_nowait().close()


async def _crawl_users(
    engine: Engine,
    client: KitsuClient,
    run: ledger.Run,
    plan: CrawlPlan,
    todo: list[tuple[int, int]],
    progress: CrawlProgress,
    anime_seen: set[int],
    report: Callable[[], None],
) -> None:
    """Harvest the to-do list in batches; a writer task streams the results to the store."""
    # Batches as large as batch_users allows, but at least four per connection, so that the
    # crawl's tail (the last, sequentially paged batches) keeps every connection busy.
    size = max(1, min(plan.batch_users, math.ceil(len(todo) / (4 * client.concurrency))))
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    # A small queue: finished batches wait for the writer, not in memory by the thousand.
    results: asyncio.Queue[Harvest | tuple[list[int], RecordError] | None] = asyncio.Queue(maxsize=4)

    async def fetch(batch: list[tuple[int, int]]) -> None:
        ids = [uid for uid, _ in batch]
        try:
            result = await harvest(
                client,
                ids,
                since=plan.since,
                with_favorites=any(favs > 0 for _, favs in batch),
                fetched_at=ledger.utcnow(),
                known_anime=anime_seen,
            )
        except (TransientError, RequestRejected, NotFoundError) as exc:
            payload = getattr(exc, "payload", None)
            cause = getattr(exc, "cause", type(exc).__name__)
            await results.put((ids, RecordError(f"failed-{cause}", str(exc), payload)))
            return
        await results.put(result)

    writer = asyncio.create_task(_write(engine, run, plan, results, progress, anime_seen, report))
    fetchers = asyncio.create_task(
        _gather_bounded([fetch(batch) for batch in batches], limit=client.concurrency)
    )
    try:
        await asyncio.wait({writer, fetchers}, return_when=asyncio.FIRST_COMPLETED)
        if writer.done():  # the writer only stops early when the store failed
            fetchers.cancel()
            await writer
        await fetchers
        await results.put(None)
        await writer
    finally:
        for task in (writer, fetchers):
            task.cancel()
        # Wait for them to wind down: none may outlive the crawl (and the client it uses).
        await asyncio.gather(writer, fetchers, return_exceptions=True)


async def _write(
    engine: Engine,
    run: ledger.Run,
    plan: CrawlPlan,
    results: asyncio.Queue[Any],
    progress: CrawlProgress,
    anime_seen: set[int],
    report: Callable[[], None],
) -> None:
    """Collect harvests and write them a few thousand rows at a time (or every second)."""
    pending: list[Harvest] = []
    failures: list[tuple[list[int], RecordError]] = []
    rows = 0
    last = time.monotonic()

    async def flush() -> None:
        nonlocal pending, failures, rows, last
        for h in pending:  # each anime once per crawl, however many users have it
            h.anime = {k: v for k, v in h.anime.items() if k not in anime_seen}
            anime_seen.update(h.anime)
        write_harvests(engine, run, pending, failures, full=plan.since is None)
        for h in pending:
            progress.users_done += len(h.user_ids)
            progress.entries += len(h.entries)
            progress.favorites += len(h.favorites)
            progress.anime += len(h.anime)
            progress.nsfw_resolved += h.nsfw_resolved
            progress.nsfw_unresolved += h.nsfw_unresolved
            progress.record_errors += len(h.errors)
        progress.users_failed += sum(len(ids) for ids, _ in failures)
        pending, failures, rows, last = [], [], 0, time.monotonic()
        report()

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
        elif isinstance(item, tuple):
            failures.append(item)
        if (pending or failures) and (rows >= FLUSH_ROWS or time.monotonic() - last >= FLUSH_SECONDS):
            await flush()
        elif item is ...:
            await asyncio.to_thread(ledger.heartbeat, engine, run)
            report()
    if pending or failures:
        await flush()
