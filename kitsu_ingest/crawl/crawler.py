"""The crawl: choose users, fetch them in batches with bounded concurrency, stream to the store.

Three ways to choose users: a seeded random sample of /users pages, given ids, or every user in id
order (`--all`: the users pages are read as the crawl goes, see `users_pages.py`). With `since`, a
crawl of given or stored users refreshes each user's entries updated since then; `--all` with
`since` reads one site-wide delta instead (`delta.py`), then crawls whole the new users it met.
Everything the crawl decides is stored with its run, so `--resume` finishes the same crawl.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import ledger
from kitsu_ingest.crawl.delta import DeltaCursor, DeltaRefused, delta_pages
from kitsu_ingest.crawl.fetch import RecordError
from kitsu_ingest.crawl.mapping import MalformedRecord, id_of, user_row
from kitsu_ingest.crawl.pipeline import Batch, batch_size, fetch_and_write, pending_batches
from kitsu_ingest.crawl.plan import PAGE, CrawlPlan, sample_offsets
from kitsu_ingest.crawl.progress import CrawlProgress, if_stored, projected_seconds
from kitsu_ingest.crawl.tasks import gather_or_cancel
from kitsu_ingest.crawl.users_pages import UsersCursor, read_page
from kitsu_ingest.crawl.writer import record_errors, write_delta_page
from kitsu_ingest.errors import ConfigError, TransientError
from kitsu_ingest.kitsu.client import KitsuClient
from kitsu_ingest.kitsu.jsonapi import Document
from kitsu_ingest.store.models import User, table

__all__ = ["WALK_AHEAD", "crawl"]

WALK_AHEAD = 3
"""Users pages `--all` asks ahead of the walk. Read one at a time, the walk waited for its turn under
the rate behind the batches' requests, and fed them too slowly: 91.5% of a 10 req/s limit."""


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
        return await _Crawl(engine, client, run, plan, on_progress).run()
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


class _Crawl:
    """One run of the crawl: its plan, its counters, and the steps that fill the store."""

    def __init__(self, engine: Engine, client: KitsuClient, run: ledger.Run, plan: CrawlPlan,
                 on_progress: Callable[[CrawlProgress], None] | None) -> None:
        self.engine, self.client, self.run_ = engine, client, run
        self.plan = _resumed_plan(engine, run) if run.resumed else plan
        self.before = CrawlProgress.from_dict(run.summary)  # the earlier sessions' of a resumed run
        self.progress = CrawlProgress.resumed(run.id, run.summary)
        self.on_progress = on_progress
        self.started = time.monotonic()
        self.anime_seen: set[int] = ledger.anime_stored_by(engine, run) if run.resumed else set()

    def report(self) -> None:
        p = self.progress
        p.add_session(self.before, self.client.stats.requests, self.client.stats.retries,
                      time.monotonic() - self.started)
        if self.on_progress:
            self.on_progress(p)

    async def run(self) -> CrawlProgress:
        p, engine, run = self.progress, self.engine, self.run_
        try:
            if self.plan.delta:
                await self._delta()
            elif self.plan.everyone:
                await self._everyone()
            else:
                await self._chosen()
        except BaseException:
            p.status, p.phase = "interrupted", "stopped"
            _finish_quietly(engine, run, p)
            raise
        p.status = "incomplete" if p.users_failed else "done"
        p.phase = "finished"
        self.report()
        await asyncio.to_thread(ledger.finish_run, engine, run, p.status, p.as_dict())
        return p

    async def _count_states(self) -> None:
        states = await asyncio.to_thread(ledger.user_states, self.engine, self.run_)
        p = self.progress
        p.users_total = sum(n for s, n in states.items() if s not in ("touched", "discovered"))
        p.users_done, p.users_missing, p.delta_users = states["done"], states["missing"], states["touched"]

    async def _fetch(self, batches: AsyncIterator[Batch], since: Any) -> None:
        await fetch_and_write(self.engine, self.client, self.run_, batches, self.progress, self.anime_seen,
                              self.report, since=since)

    # -- a sample, given users, or stored users refreshed one by one ---------------------------

    async def _chosen(self) -> None:
        if not self.run_.params.get("registered"):
            self.progress.phase = "choosing users"
            self.report()
            await self._register_chosen()
            ledger.update_params(self.engine, self.run_, registered=True)
        await self._count_states()
        self.progress.phase = "crawling"
        self.report()
        todo = self.progress.users_total - self.progress.users_done - self.progress.users_missing
        size = batch_size(todo, self.plan.batch_users, self.client.concurrency)
        await self._fetch(pending_batches(self.engine, self.run_, size), self.plan.since)

    async def _register_chosen(self) -> None:
        """Fetch the profiles of the run's users and put them on its to-do list."""
        plan = self.plan
        if plan.users is None and plan.since is not None:
            plan = CrawlPlan(users=tuple(await asyncio.to_thread(_stored_user_ids, self.engine)), since=plan.since)
            ledger.update_params(self.engine, self.run_, users=list(plan.users or ()))
        if plan.users is not None:
            await self._register_ids(plan.users)
            return
        assert plan.sample is not None
        total = self.run_.params.get("total")
        if total is None:
            total = max(0, (await self.client.get("/users", {"page[limit]": 1})).count or 0)
            ledger.update_params(self.engine, self.run_, total=total)
        sample = plan.sample
        if sample > total:  # every user of the site, and the summary says so
            self.progress.asked = sample
        await _gather_bounded(
            (self._register_page({"page[limit]": PAGE, "page[offset]": offset}, min(PAGE, sample - PAGE * i))
             for i, offset in enumerate(sample_offsets(total, sample, plan.seed))),
            limit=16,
        )

    async def _register_ids(self, user_ids: Iterable[int]) -> None:
        ids = list(dict.fromkeys(user_ids))
        await _gather_bounded(
            (self._register_page({"filter[id]": ",".join(map(str, chunk)), "page[limit]": PAGE}, len(chunk))
             for chunk in (ids[i : i + PAGE] for i in range(0, len(ids), PAGE))),
            limit=16,
        )

    async def _register_page(self, params: dict[str, Any], keep: int) -> None:
        document = await self.client.get("/users", params)
        rows, errors = self._profiles(document, range(min(keep, len(document.data))))
        missing: list[int] = []
        if "filter[id]" in params:
            asked = {int(v) for v in params["filter[id]"].split(",")}
            missing = sorted(asked - {row["id"] for row in rows})
        await asyncio.to_thread(ledger.register_users, self.engine, self.run_, rows, missing)
        await asyncio.to_thread(record_errors, self.engine, self.run_, errors)
        self.progress.users_total += len(rows) + len(missing)
        self.progress.users_missing += len(missing)
        self.report()

    @staticmethod
    def _profiles(document: Document, indexes: Iterable[int]) -> tuple[list[dict[str, Any]], list[RecordError]]:
        fetched_at = ledger.utcnow()
        rows, errors = [], []
        for i in indexes:
            try:
                rows.append(user_row(document.data[i], fetched_at))
            except MalformedRecord as exc:
                errors.append(RecordError("malformed-users", str(exc), exc.payload, document.url))
        return rows, errors

    # -- every user, in id order ---------------------------------------------------------------

    async def _everyone(self) -> None:
        await self._count_states()
        p = self.progress
        p.site_users = self.run_.params.get("cursor", {}).get("count")
        p.phase = "crawling all users"
        self.report()
        await self._fetch(self._everyone_batches(), None)

    async def _everyone_batches(self) -> AsyncIterator[Batch]:
        """The to-do list a resumed run left, then the users pages from where the walk stopped,
        each page registered (with the walk's position) before its users are fetched."""
        size = self.plan.batch_users
        async for batch in pending_batches(self.engine, self.run_, size):
            yield batch
        cursor = UsersCursor.from_params(self.run_.params.get("cursor"))
        if self.run_.params.get("registered"):
            return
        ahead: deque[tuple[int, asyncio.Future[Document]]] = deque()
        try:
            while True:
                offset = cursor.request_offset
                if ahead and ahead[0][0] != offset:  # the walk left the predicted path: ask again
                    _cancel(ahead)
                while len(ahead) < WALK_AHEAD:  # a quiet site: each full page moves the walk PAGE - 1 on
                    at = ahead[-1][0] + PAGE - 1 if ahead else offset
                    ahead.append((at, asyncio.ensure_future(
                        self.client.get("/users", {"page[limit]": PAGE, "page[offset]": at, "sort": "id"}))))
                document = await ahead.popleft()[1]
                async for batch in self._walk_page(cursor, offset, document):
                    yield batch
                if self.run_.params.get("registered"):
                    return
        finally:
            _cancel(ahead)

    async def _walk_page(self, cursor: UsersCursor, offset: int, document: Document) -> AsyncIterator[Batch]:
        """Register one users page of the walk (with the walk's position) and yield its new users."""
        size = self.plan.batch_users
        ids = [id_of(resource) or 0 for resource in document.data]
        try:
            verdict = read_page(cursor, offset, ids, document.count)
        except ValueError as exc:
            raise TransientError(str(exc), "inconsistent") from None
        if self.progress.site_users is None and document.count is not None:
            self.progress.site_users = document.count
            await self._project()
        self.progress.site_users = document.count or self.progress.site_users
        rows, errors = self._profiles(document, verdict.new)
        errors += [RecordError(kind, message, None, document.url) for kind, message in verdict.anomalies]
        for kind, _ in verdict.anomalies:
            self.progress.note(kind)
        params: dict[str, Any] = {"cursor": cursor.to_params()}
        if verdict.done:
            params["registered"] = True
        added = set(await asyncio.to_thread(ledger.register_users, self.engine, self.run_, rows, (), **params))
        await asyncio.to_thread(record_errors, self.engine, self.run_, errors)
        self.progress.users_total += len(added)
        if self.plan.delta:  # users listed after the store's last one: new since
            self.progress.new_users += len(added)
        self.report()
        batch = [(row["id"], row.get("favorites_count") or 1) for row in rows if row["id"] in added]
        for i in range(0, len(batch), size):
            yield batch[i : i + size]

    async def _project(self) -> None:
        """At the start of a whole-site crawl: how long it will take at this rate."""
        measured = await asyncio.to_thread(ledger.measured_requests_per_user, self.engine)
        self.progress.prior_requests_per_user = measured
        self.progress.projected_seconds = projected_seconds(
            (self.progress.site_users or 0) - self.progress.users_done, self.client.rate.target, measured)

    # -- the site-wide delta ---------------------------------------------------------------------

    async def _delta(self) -> None:
        """Entries changed anywhere since `plan.since`, paged by time; then the new users met, whole.
        Falls back to refreshing each stored user when the API refuses the delta."""
        p, engine, run = self.progress, self.engine, self.run_
        assert self.plan.since is not None
        if not run.params.get("delta_done"):
            p.phase = "site-wide delta"
            self.report()
            stored = run.params.get("delta")
            cursor = DeltaCursor.from_params(stored) if stored else DeltaCursor(self.plan.since)
            try:
                async for page in delta_pages(self.client, cursor, ledger.utcnow(), self.anime_seen):
                    await self._write_delta_page(page)
            except DeltaRefused as exc:
                if stored:  # the API served this delta before: a failure now is a failure
                    raise
                await asyncio.to_thread(record_errors, engine, run, [RecordError("delta-refused", str(exc))])
                p.note("delta-refused")
                ledger.update_params(engine, run, everyone=False, fallback=True)
                self.plan = CrawlPlan(since=self.plan.since, batch_users=self.plan.batch_users)
                await self._chosen()
                return
            # New users with no visible entry are not in the delta: they are the users listed after
            # the store's last one. The walk over them starts from a guess (the store's users).
            held, last_id = await asyncio.to_thread(_stored_extent, engine)
            ledger.update_params(engine, run, delta_done=True,
                                 cursor=UsersCursor(offset=held, last_id=last_id, seeking=True).to_params())
        p.phase = "registering new users"
        self.report()
        while discovered := await asyncio.to_thread(ledger.discovered_users, engine, run):
            await self._register_ids(discovered)
        await self._count_states()
        p.phase = "new users"
        self.report()
        await self._fetch(self._everyone_batches(), None)

    async def _write_delta_page(self, page: Any) -> None:
        p = self.progress
        page.harvest.anime = {k: v for k, v in page.harvest.anime.items() if k not in self.anime_seen}
        with if_stored(p):
            p.delta_pages += 1
            p.delta_entries += len(page.harvest.entries)
            p.entries += len(page.harvest.entries)
            p.anime += len(page.harvest.anime)
            p.nsfw_resolved += page.harvest.nsfw_resolved
            p.nsfw_unresolved += page.harvest.nsfw_unresolved
            p.record_errors += len(page.harvest.errors)
            for error in page.anomalies:
                p.note(error.kind)
            touched, new = await asyncio.to_thread(write_delta_page, self.engine, self.run_, page, p.as_dict())
        self.anime_seen.update(page.harvest.anime)
        p.delta_users += touched
        p.new_users += new
        self.report()


def _cancel(ahead: deque[tuple[int, asyncio.Future[Document]]]) -> None:
    """Drop the pages read ahead (their requests are cancelled, their errors ignored)."""
    while ahead:
        future = ahead.popleft()[1]
        future.cancel()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())


def _finish_quietly(engine: Engine, run: ledger.Run, progress: CrawlProgress) -> None:
    """Mark the run interrupted if the store still lets us (it may be the store that failed)."""
    try:
        ledger.finish_run(engine, run, "interrupted", progress.as_dict())
    except Exception:  # the original error is the one to report
        pass


def _stored_extent(engine: Engine) -> tuple[int, int]:
    """How many users the store holds, and the largest id among them."""
    with engine.connect() as conn:
        ids = table(User).c.id
        count, largest = conn.execute(select(func.count(), func.max(ids))).one()
        return int(count), int(largest or 0)


def _stored_user_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        ids = table(User).c.id
        return list(conn.execute(select(ids).order_by(ids)).scalars())


async def _gather_bounded(coroutines: Iterable[Any], limit: int) -> None:
    """Await coroutines (made as they are needed), at most `limit` at once; the first failure
    cancels the rest."""
    pending = iter(coroutines)

    async def worker() -> None:
        for coroutine in pending:
            await coroutine

    try:
        await gather_or_cancel(worker() for _ in range(limit))
    finally:
        for coroutine in pending:
            coroutine.close()
