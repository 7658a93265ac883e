"""`kitsu-ingest crawl`: sample Kitsu users and store their libraries and favourites."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import click

from kitsu_ingest.clikit import FiniteFloatRange, database_option, fail
from kitsu_ingest.crawl.ledger import touched_users, utcnow
from kitsu_ingest.crawl.plan import CrawlPlan
from kitsu_ingest.crawl.progress import DEFAULT_REQUESTS_PER_USER, CrawlProgress
from kitsu_ingest.crawl.run import run_crawl
from kitsu_ingest.crawl.status import CrawlStatus, crawl_status
from kitsu_ingest.domain import MAX_ID
from kitsu_ingest.errors import ApiError, AuthError, ConfigError, UnreachableError
from kitsu_ingest.kitsu.config import ApiConfig
from kitsu_ingest.settings import get_settings
from kitsu_ingest.store.migrate import open_store

__all__ = ["crawl_command"]


def _user_ids(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """`70211,85539` -> (70211, 85539): Kitsu ids, 1 to MAX_ID (what the store can hold)."""
    if value is None:
        return None
    try:
        ids = tuple(int(v) for v in value.replace(" ", "").split(",") if v)
    except ValueError:
        raise click.BadParameter("give user ids as numbers separated by commas, e.g. 70211,85539") from None
    if not ids or min(ids) < 1 or max(ids) > MAX_ID:
        raise click.BadParameter(f"user ids are whole numbers from 1 to {MAX_ID}, e.g. 70211,85539")
    return ids


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """A date or ISO 8601 time, not in the future -> naive UTC (a time in another zone is converted)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        since = parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD or an ISO 8601 time") from None
    except OverflowError:
        raise click.BadParameter(f"{value!r} is out of range once converted to UTC") from None
    if since > utcnow():
        raise click.BadParameter(f"{value!r} is in the future (UTC): nothing can have changed since then")
    return since


@click.command("crawl")
@click.option("--sample", type=click.IntRange(min=1), help="Crawl a random sample of N users.")
@click.option("--users", "user_ids", callback=_user_ids, help="Crawl these users (ids, comma-separated).")
@click.option("--all", "everyone", is_flag=True,
              help="Crawl every user of the site, in id order (with --since: one site-wide delta).")
@click.option("--touched-by", type=click.IntRange(min=1), metavar="RUN",
              help="Crawl again, whole, the users the site-wide delta RUN met (catches up deleted entries).")
@click.option("--resume", is_flag=True, help="Finish the newest unfinished crawl, retrying failed users.")
@click.option("--status", "show_status", is_flag=True,
              help="Show the newest crawl's progress (running or interrupted) from the store, and exit.")
@click.option("--since", callback=_since,
              help="Only entries updated since DATE (all stored users unless --users; with --all, site-wide).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random sample.")
@click.option("--emulator", is_flag=True, help="Crawl an in-process Kitsu emulator (offline).")
@click.option("--emulator-users", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Population of the in-process emulator.")
@click.option("--emulator-seed", type=click.IntRange(0, MAX_ID), default=7, show_default=True,
              help="Seed of the emulator.")
@click.option("--emulator-day", type=click.IntRange(0, 3650), default=0, show_default=True,
              help="Day of the emulated site: each day changes ~1% of entries and adds new users.")
@click.option("--base-url", help="API root (default KITSU_BASE_URL), e.g. a served emulator.")
@click.option("--rate", type=FiniteFloatRange(min=0),
              help="Requests per second at most; 0 = unlimited (the default with --emulator).")
@click.option("--concurrency", type=click.IntRange(min=1), help="Requests in flight at most.")
@click.option("--timeout", type=FiniteFloatRange(min=0.1), help="Seconds before a request times out.")
@click.option("--max-attempts", type=click.IntRange(min=1), help="Attempts per request.")
@click.option("--batch-users", type=click.IntRange(1, 50), default=20, show_default=True,
              help="Users fetched together in one library/favourites query.")
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (no progress bar).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def crawl_command(
    sample: int | None,
    user_ids: tuple[int, ...] | None,
    everyone: bool,
    touched_by: int | None,
    resume: bool,
    show_status: bool,
    since: datetime | None,
    seed: int,
    emulator: bool,
    emulator_users: int,
    emulator_seed: int,
    emulator_day: int,
    base_url: str | None,
    rate: float | None,
    concurrency: int | None,
    timeout: float | None,
    max_attempts: int | None,
    batch_users: int,
    database_url: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Crawl Kitsu users' profiles, anime library entries and favourites into the store.

    \b
    Examples:
      kitsu-ingest crawl --sample 5000 --emulator      offline, against an in-process emulator
      kitsu-ingest crawl --users 70211,85539           given users from KITSU_BASE_URL
      kitsu-ingest crawl --all                         the whole site (days at a polite rate)
      kitsu-ingest crawl --all --since 2024-01-01      entries changed anywhere since then, in one delta
      kitsu-ingest crawl --since 2024-01-01            refresh stored users one by one
      kitsu-ingest crawl --resume                      finish an interrupted crawl
      kitsu-ingest crawl --status                      where the newest crawl stands

    The crawl is resumable: kill it at any moment and `--resume` completes the same crawl with
    nothing missing and nothing duplicated. A site-wide delta cannot see deleted entries: its
    summary names the command that catches them up (`--touched-by RUN`).
    """
    chosen = [name for name, on in (("--sample", sample), ("--users", user_ids), ("--all", everyone),
                                    ("--touched-by", touched_by), ("--resume", resume),
                                    ("--status", show_status)) if on]
    if len(chosen) > 1:
        raise ConfigError(f"choose one of --sample, --users, --all, --touched-by, --resume and --status, "
                          f"not {' and '.join(chosen)}")
    if not chosen and since is None:
        raise ConfigError("say what to crawl: --sample N, --users IDS, --all, --since DATE or --resume "
                          "(or --status to see where the last crawl stands)")
    if show_status:
        if since is not None:
            raise ConfigError("--status only reads the store: it takes no --since")
        _show_status(crawl_status(open_store(get_settings(database_url=database_url).database_url)), as_json)
        return
    if resume and since is not None:
        raise ConfigError(
            "--resume finishes the unfinished crawl with the settings it started with; it takes no --since "
            "(resume first, then run `crawl --since DATE`)"
        )
    if emulator and base_url:
        raise ConfigError("--emulator and --base-url exclude each other")
    if emulator_day and not emulator:
        raise ConfigError("--emulator-day sets the day of the in-process emulator: add --emulator")
    if emulator and rate is None:
        rate = 0.0  # an in-process emulator needs no politeness
    settings = get_settings(
        database_url=database_url,
        kitsu_base_url=base_url,
        kitsu_rate=rate,
        kitsu_concurrency=concurrency,
        kitsu_timeout=timeout,
        kitsu_max_attempts=max_attempts,
    )
    site = (emulator_users, emulator_seed, emulator_day) if emulator else None
    api = ApiConfig.from_settings(settings, emulator=site)
    engine = open_store(settings.database_url, one_connection=True)  # flat memory: see make_engine
    if touched_by is not None:
        user_ids = touched_users(engine, touched_by)
        if not user_ids:
            raise ConfigError(f"crawl run {touched_by} touched no users (only a site-wide delta, "
                              "`crawl --all --since`, does): nothing to catch up")
    plan = CrawlPlan(sample=sample, seed=seed, users=user_ids, since=since if touched_by is None else None,
                     batch_users=batch_users, everyone=everyone)
    with _ProgressBar(show=not (as_json or quiet)) as bar:
        try:
            summary = _run_until_terminated(run_crawl(engine, api, plan, resume=resume, on_progress=bar.update))
        except UnreachableError as exc:
            raise UnreachableError(
                f"{exc}. To work offline use --emulator, or serve one with "
                "`kitsu-ingest emulator --port 8765` and pass --base-url http://127.0.0.1:8765/api/edge"
            ) from None
        except AuthError:
            raise
        except ApiError as exc:  # e.g. a users page of `--all` that kept failing, a Retry-After of days
            raise ApiError(f"{exc}. The crawl is stored as interrupted: `kitsu-ingest crawl --resume` goes on "
                           "from there") from None
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        _print_summary(summary)
    if summary.status != "done":
        raise SystemExit(1)


def _run_until_terminated(crawling: Coroutine[Any, Any, CrawlProgress]) -> CrawlProgress:
    """asyncio.run(crawling), where SIGTERM stops the crawl as Ctrl-C does: the crawl is cancelled,
    its run stored as interrupted (resumable), and the command fails with one line, status 143."""
    terminated = False

    async def main() -> CrawlProgress:
        nonlocal terminated
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        assert task is not None

        def terminate() -> None:
            nonlocal terminated
            terminated = True
            task.cancel()

        try:
            loop.add_signal_handler(signal.SIGTERM, terminate)
        except (NotImplementedError, RuntimeError):  # not the main thread, or not a POSIX system
            return await crawling
        try:
            return await crawling
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        if not terminated:
            raise
        fail("terminated: the crawl is stored as interrupted; `kitsu-ingest crawl --resume` finishes it",
             code=128 + signal.SIGTERM)
        raise  # pragma: no cover - fail() exits


class _ProgressBar:
    """Users done of total, with failures, request and entry rates, and retries."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self._progress: Any = None
        self._projected = False

    def __enter__(self) -> _ProgressBar:
        from rich.console import Console

        console = Console(stderr=True)
        if self.show and console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description:<18}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._task = self._progress.add_task("starting", total=None, stats="")
            self._progress.start()
        return self

    def update(self, p: CrawlProgress) -> None:
        if p.projected_seconds is not None and not self._projected:
            self._projected = True
            _echo_projection(p)
        if self._progress is None:
            return
        seconds = max(p.elapsed, 1e-6)
        per_user = f"{p.requests_per_user:.2f} req/user  " if p.requests_per_user else ""
        eta = f"ETA {_duration(p.eta_seconds)}  " if p.eta_seconds is not None else ""
        delta = f"delta pages {p.delta_pages}  " if p.delta_pages else ""
        stats = (
            f"failed {p.users_failed}  {p.requests / seconds:5.1f} req/s  {p.users_done / seconds:5.1f} users/s  "
            f"{p.entries / seconds:6.0f} entries/s  {per_user}{delta}{eta}retries {_retries(p)}"
        )
        total = max(p.users_total, p.site_users or 0) or None
        self._progress.update(self._task, description=p.phase, total=total, completed=p.users_done, stats=stats)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _print_summary(p: CrawlProgress) -> None:
    from rich.console import Console
    from rich.table import Table

    seconds = max(p.elapsed, 1e-6)
    table = Table(title=f"Crawl run {p.run_id}: {p.status}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    done = max(p.users_done, 1)
    for label, value in [
        ("users done / failed / missing", f"{p.users_done:,} / {p.users_failed:,} / {p.users_missing:,}"),
        ("library entries", f"{p.entries:,}"),
        ("favourites", f"{p.favorites:,}"),
        ("anime", f"{p.anime:,}"),
        ("NSFW entries resolved / not", f"{p.nsfw_resolved:,} / {p.nsfw_unresolved:,}"),
        ("records filed as errors", f"{p.record_errors:,}"),
        ("requests", f"{p.requests:,} ({p.requests / done:.2f} per user)"),
        ("retries", _retries(p)),
        ("API inconsistencies (filed)", ", ".join(f"{k} {v}" for k, v in sorted(p.anomalies.items())) or "none"),
        ("elapsed", f"{p.elapsed:.1f} s ({p.users_done / seconds:.1f} users/s, {p.entries / seconds:,.0f} entries/s)"),
    ]:
        table.add_row(label, value)
    if p.delta_pages:
        table.add_row("site-wide delta", f"{p.delta_pages:,} pages; {p.delta_users:,} stored users changed, "
                                         f"{p.new_users:,} new users crawled whole")
    console = Console()
    console.print(table)
    if p.asked:
        console.print(f"The site lists {p.users_total:,} users, fewer than the {p.asked:,} asked for: "
                      "all of them were crawled.", soft_wrap=True)
    if p.users_failed:
        console.print(f"{p.users_failed} users failed: run `kitsu-ingest crawl --resume` to retry them.")
    if p.delta_pages:
        console.print(f"A delta cannot see deleted entries, removed favourites or profile changes. To catch "
                      f"up the {p.delta_users:,} users it met: `kitsu-ingest crawl --touched-by {p.run_id}`; "
                      "for everyone: `kitsu-ingest crawl --all`.")


def _retries(p: CrawlProgress) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(p.retries.items())) or "none"


def _duration(seconds: float | None) -> str:
    """3 d 4 h, 5 h 12 min, 4 min 10 s."""
    if seconds is None:
        return "unknown"
    s = int(seconds)
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {s % 60} s" if minutes else f"{s} s"


def _echo_projection(p: CrawlProgress) -> None:
    measured = (f"{p.prior_requests_per_user:.2f} requests per user, measured over this store's earlier crawls"
                if p.prior_requests_per_user
                else f"about {DEFAULT_REQUESTS_PER_USER} requests per user (no earlier crawl to measure)")
    click.echo(f"{p.site_users:,} users on the site; at this rate and {measured}: about "
               f"{_duration(p.projected_seconds)}. Stop at any moment; `kitsu-ingest crawl --resume` goes on.",
               err=True)


def _show_status(status: CrawlStatus, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(status.as_dict(), indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    p, info = status.progress, status.as_dict()
    table = Table(title=f"Crawl run {status.run_id}: {info['status']}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    plan = info["plan"]
    what = ("site-wide delta since " + str(plan.get("since")) if plan.get("everyone") and plan.get("since")
            else "every user" if plan.get("everyone") else f"sample of {plan['sample']:,}" if plan.get("sample")
            else "given users")
    total = max(p.users_total, p.site_users or 0, sum(status.states.values()) - status.states.get("touched", 0))
    last = f"{status.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC" if status.heartbeat_at else "never"
    for label, value in [
        ("crawl", what),
        ("started", f"{status.started_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("last heard of", last + ("" if status.alive or status.status != "running" else " (not running now)")),
        ("users done / to do", f"{p.users_done:,} / {total:,}" + (f" ({p.users_done / total:.1%})" if total else "")),
        ("users failed / missing", f"{status.states['failed']:,} / {status.states['missing']:,}"),
        ("library entries / favourites", f"{p.entries:,} / {p.favorites:,}"),
        ("requests", f"{p.requests:,}" + (f" ({p.requests_per_user:.2f} per user)" if p.requests_per_user else "")),
        ("rate", f"{p.requests / p.elapsed:.1f} req/s, {p.users_done / p.elapsed:.2f} users/s" if p.elapsed else "-"),
        ("retries", _retries(p)),
        ("API inconsistencies", ", ".join(f"{k} {v}" for k, v in sorted(p.anomalies.items())) or "none"),
        ("time left", _duration(p.eta_seconds) if p.eta_seconds is not None else "-"),
    ]:
        table.add_row(label, value)
    Console().print(table)
    if status.status != "done" and not status.alive:
        click.echo("`kitsu-ingest crawl --resume` finishes it.")
