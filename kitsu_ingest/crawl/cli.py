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
from kitsu_ingest.crawl.crawler import CrawlPlan, CrawlProgress
from kitsu_ingest.crawl.run import run_crawl
from kitsu_ingest.domain import MAX_ID
from kitsu_ingest.errors import ConfigError, UnreachableError
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
    """A date or ISO 8601 time -> naive UTC (a time in another zone is converted)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD or an ISO 8601 time") from None
    except OverflowError:
        raise click.BadParameter(f"{value!r} is out of range once converted to UTC") from None


@click.command("crawl")
@click.option("--sample", type=click.IntRange(min=1), help="Crawl a random sample of N users.")
@click.option("--users", "user_ids", callback=_user_ids, help="Crawl these users (ids, comma-separated).")
@click.option("--resume", is_flag=True, help="Finish the newest unfinished crawl, retrying failed users.")
@click.option("--since", callback=_since, help="Only entries updated since DATE (all stored users unless --users).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random sample.")
@click.option("--emulator", is_flag=True, help="Crawl an in-process Kitsu emulator (offline).")
@click.option("--emulator-users", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Population of the in-process emulator.")
@click.option("--emulator-seed", type=click.IntRange(0, MAX_ID), default=7, show_default=True,
              help="Seed of the emulator.")
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
    resume: bool,
    since: datetime | None,
    seed: int,
    emulator: bool,
    emulator_users: int,
    emulator_seed: int,
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
      kitsu-ingest crawl --since 2024-01-01            refresh stored users incrementally
      kitsu-ingest crawl --resume                      finish an interrupted crawl

    The crawl is resumable: kill it at any moment and `--resume` completes the same sample with
    nothing missing and nothing duplicated.
    """
    chosen = [name for name, on in (("--sample", sample), ("--users", user_ids), ("--resume", resume)) if on]
    if len(chosen) > 1:
        raise ConfigError(f"choose one of --sample, --users and --resume, not {' and '.join(chosen)}")
    if not chosen and since is None:
        raise ConfigError("say what to crawl: --sample N, --users IDS, --since DATE or --resume")
    if resume and since is not None:
        raise ConfigError(
            "--resume finishes the unfinished crawl with the settings it started with; it takes no --since "
            "(resume first, then run `crawl --since DATE`)"
        )
    if emulator and base_url:
        raise ConfigError("--emulator and --base-url exclude each other")
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
    api = ApiConfig.from_settings(settings, emulator=(emulator_users, emulator_seed) if emulator else None)
    engine = open_store(settings.database_url)
    plan = CrawlPlan(sample=sample, seed=seed, users=user_ids, since=since, batch_users=batch_users)
    with _ProgressBar(show=not (as_json or quiet)) as bar:
        try:
            summary = _run_until_terminated(run_crawl(engine, api, plan, resume=resume, on_progress=bar.update))
        except UnreachableError as exc:
            raise UnreachableError(
                f"{exc}. To work offline use --emulator, or serve one with "
                "`kitsu-ingest emulator --port 8765` and pass --base-url http://127.0.0.1:8765/api/edge"
            ) from None
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

    def __enter__(self) -> _ProgressBar:
        from rich.console import Console

        console = Console(stderr=True)
        if self.show and console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description:<15}"),
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
        if self._progress is None:
            return
        seconds = max(p.elapsed, 1e-6)
        stats = (
            f"failed {p.users_failed}  {p.requests / seconds:5.1f} req/s  "
            f"{p.entries / seconds:6.0f} entries/s  retries {sum(p.retries.values())}"
        )
        self._progress.update(
            self._task, description=p.phase, total=p.users_total or None, completed=p.users_done, stats=stats
        )

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
        ("retries", ", ".join(f"{k} {v}" for k, v in sorted(p.retries.items())) or "none"),
        ("elapsed", f"{p.elapsed:.1f} s ({p.users_done / seconds:.1f} users/s, {p.entries / seconds:,.0f} entries/s)"),
    ]:
        table.add_row(label, value)
    console = Console()
    console.print(table)
    if p.users_failed:
        console.print(f"{p.users_failed} users failed: run `kitsu-ingest crawl --resume` to retry them.")
