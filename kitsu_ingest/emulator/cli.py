"""`kitsu-ingest emulator`: serve the Kitsu emulator on loopback, or export its ground truth."""

from __future__ import annotations

import errno
import logging
import socket
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import click
import orjson

from kitsu_ingest.clikit import FiniteFloatRange
from kitsu_ingest.emulator.app import EmulatorConfig, create_app
from kitsu_ingest.emulator.days import MAX_DAY
from kitsu_ingest.emulator.faults import DroppedConnection, FaultConfig, parse_latency
from kitsu_ingest.emulator.population import MAX_USERS
from kitsu_ingest.emulator.truth import ground_truth
from kitsu_ingest.errors import ConfigError
from kitsu_ingest.outputs import written_whole

__all__ = ["emulator"]

_USERS = click.option("--users", type=int, default=20_000, show_default=True,
                      help="Number of existing users (ids 1.. with ~8% gaps; user 70211 always exists).")
_SEED = click.option("--seed", type=click.IntRange(min=0), default=7, show_default=True,
                     help="Population seed: same seed, same users, libraries and favourites.")
_DAY = click.option("--day", type=int, default=0, show_default=True,
                    help="Serve the world at the end of this day: 0 is 2021-11-30, each later day has "
                         "edits, additions, deletions and new users.")
_CHURN = click.option("--churn", type=float, default=0.01, show_default=True,
                      help="Share of all library entries edited per day after day 0.")
_GROWTH = click.option("--growth", type=float, default=0.001, show_default=True,
                       help="New users per day after day 0, as a share of --users.")


def _world(func: Callable[..., Any]) -> Callable[..., Any]:
    return _USERS(_SEED(_DAY(_CHURN(_GROWTH(func)))))


def _check_users(users: int) -> None:
    if users < 1:
        raise ConfigError(f"--users must be at least 1 (got {users})")
    if users > MAX_USERS:
        raise ConfigError(
            f"--users must be at most {MAX_USERS:,}, what the emulator can hold in memory (got {users:,})"
        )


def _check_world(day: int, churn: float, growth: float) -> None:
    if day < 0:
        raise ConfigError(f"--day must be at least 0 (got {day})")
    if day > MAX_DAY:
        raise ConfigError(f"--day must be at most {MAX_DAY:,}, ten years of changes (got {day:,})")
    for name, share in (("--churn", churn), ("--growth", growth)):
        if not 0 <= share <= 1:
            raise ConfigError(f"{name} must be a share between 0 and 1 (got {share})")


def _probability(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(f"--{name}", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                        help=f"Share of requests answered with {_FAULT_HELP[name]}.")


_FAULT_HELP = {
    "p-5xx": "a 500/502/503/504", "p-403": "a Cloudflare 403", "p-429": "a Cloudflare 429",
    "p-hang": "a hang of --hang-seconds before answering",
    "p-malformed": "a 200 whose body is truncated JSON or an HTML page",
    "p-drop": "a connection dropped mid-body",
}


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on.")
@_world
@click.option("--latency", metavar="MS|LO-HI", default=None,
              help="Delay per response in ms: fixed (250) or uniform in a range (300-2100).")
@click.option("--rate-limit", type=FiniteFloatRange(min=0, min_open=True), default=None, metavar="REQ/S",
              help="Requests per second allowed per client address; beyond it: 429.")
@click.option("--retry-after/--no-retry-after", default=True, show_default=True,
              help="Send Retry-After with 429s (Cloudflare often does not).")
@_probability("p-5xx")
@_probability("p-403")
@_probability("p-429")
@_probability("p-hang")
@click.option("--hang-seconds", type=FiniteFloatRange(0), default=60.0, show_default=True,
              help="How long a hung request waits.")
@_probability("p-malformed")
@_probability("p-drop")
@click.option("--fault-seed", type=int, default=None, help="Seed of the faults (default: --seed).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              help="uvicorn's log level (info logs every request).")
@click.pass_context
def emulator(ctx: click.Context, host: str, port: int, users: int, seed: int, day: int, churn: float,
             growth: float, latency: str | None,
             rate_limit: float | None, retry_after: bool, p_5xx: float, p_403: float,
             p_429: float, p_hang: float, hang_seconds: float, p_malformed: float, p_drop: float,
             fault_seed: int | None, log_level: str) -> None:
    """Serve a faithful local Kitsu API at http://HOST:PORT/api/edge.

    The population is generated lazily and deterministically from --seed; faults are off
    unless asked for. Subcommand `truth` exports what the emulator serves per user.

    \b
    Example: kitsu-ingest emulator --port 8765 --users 20000 --seed 7 --latency 300-2100 --p-5xx 0.01
    A day later: kitsu-ingest emulator --users 20000 --seed 7 --day 1 (delta: filter[since]=2021-11-30)
    """
    if ctx.invoked_subcommand is not None:
        return
    _check_users(users)
    _check_world(day, churn, growth)
    faults = FaultConfig(latency_ms=parse_latency(latency), rate_limit=rate_limit,
                         retry_after=retry_after, p_5xx=p_5xx, p_403=p_403, p_429=p_429, p_hang=p_hang,
                         hang_seconds=hang_seconds, p_malformed=p_malformed, p_drop=p_drop,
                         seed=fault_seed)
    _check_port(host, port)
    import uvicorn

    app = create_app(EmulatorConfig(users=users, seed=seed, faults=faults, day=day, churn=churn, growth=growth))
    world = f", day {day} (churn {churn}, growth {growth})" if day else ""
    if day:  # the site-wide delta's index, built before serving rather than in the first request
        click.echo(f"Building the delta index of days 1..{day} (~20 s per million users and day)...", err=True)
        app.state.population.delta()
    click.echo(f"Kitsu emulator: http://{host}:{port}/api/edge ({users:,} users, seed {seed}{world})", err=True)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=log_level in ("info", "debug"))
    logging.getLogger("uvicorn.error").addFilter(_one_line_drops)  # after Config, which sets up logging
    uvicorn.Server(config).run()


def _one_line_drops(record: logging.LogRecord) -> bool:
    """A connection dropped on purpose (--p-drop) is logged in one line, not with a traceback."""
    if record.exc_info and isinstance(record.exc_info[1], DroppedConnection):
        record.msg, record.args, record.exc_info, record.exc_text = "%s", (str(record.exc_info[1]),), None, None
    return True


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@emulator.command()
@_world
@click.option("--user-ids", default=None, metavar="ID,ID,...",
              help="Only these users (comma-separated; deleted ids are skipped).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write JSON lines here instead of stdout.")
def truth(users: int, seed: int, day: int, churn: float, growth: float, user_ids: str | None,
          out: Path | None) -> None:
    """Export the ground truth as JSON lines: one user per line, with visible entries,
    favourites by item type and profile counters (at the end of --day)."""
    _check_users(users)
    _check_world(day, churn, growth)
    ids = None
    if user_ids:
        try:
            ids = [int(v) for v in user_ids.split(",") if v.strip()]
        except ValueError:
            raise ConfigError(f"--user-ids must be comma-separated integers (got {user_ids!r})") from None
    truths = ground_truth(users, seed, ids, day=day, churn=churn, growth=growth)
    if out is None:
        _write_truth(sys.stdout.buffer, truths)
        return
    try:
        with written_whole(out) as partial, partial.open("wb") as stream:
            _write_truth(stream, truths)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise  # the CLI says "disk full"
        raise ConfigError(f"cannot write {out}: {exc.strerror or exc}") from None


def _write_truth(stream: BinaryIO, truths: Iterable[Any]) -> None:
    for item in truths:
        stream.write(orjson.dumps(item.to_dict()) + b"\n")
