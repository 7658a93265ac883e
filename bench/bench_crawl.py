"""Crawler benchmarks against the emulator served on loopback (issue 4's five measures, issue 13's).

    .venv/bin/python bench/bench_crawl.py requests  --sample 5000    # 1 + 2: requests/user, throughput
    .venv/bin/python bench/bench_crawl.py polite    --sample 300     # 3: 10 req/s limit, 300-2100 ms
    .venv/bin/python bench/bench_crawl.py memory    --sample 50000   # 4: peak RSS of the crawl process
    .venv/bin/python bench/bench_crawl.py faults    --sample 500     # 5: faults + 3 SIGKILLs + resume
    .venv/bin/python bench/bench_crawl.py all-memory --sample 5000,20000,100000 --users 1200000
        # `crawl --all` stopped (SIGTERM) once N users are done: peak RSS per N, requests per user
    .venv/bin/python bench/bench_crawl.py polite --all --sample 600  # `--all` under the 10 req/s limit
    .venv/bin/python bench/bench_crawl.py delta --users 20000        # full `--all` at day 0, then the
        # site-wide delta at day 1: requests vs 1.1 x changed/500 + new users' pages, store vs truth

Each run serves `kitsu-ingest emulator` in a subprocess, crawls it with `kitsu-ingest crawl` in
another (so its peak RSS is its own), into a fresh SQLite store under a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent / "kitsu-ingest"
SEED = 7


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator(users: int, *faults: str) -> Iterator[str]:  # faults: any `kitsu-ingest emulator` options
    """Serve the emulator on loopback; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN), "emulator", "--port", str(port), "--users", str(users), "--seed", str(SEED), *faults],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/edge"
    try:
        with httpx.Client(timeout=10) as probe:
            for _ in range(3000):  # a later day builds its index of changes before serving
                try:
                    probe.get(f"{url}/anime/1")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
        time.sleep(1.0)  # let the probe's token come back to the rate-limit bucket
        yield url
    finally:
        process.terminate()
        process.wait()


def store(folder: str, name: str) -> str:
    url = f"sqlite:///{folder}/{name}.db"
    subprocess.run([str(BIN), "db", "upgrade", "--database-url", url], check=True, capture_output=True)
    return url


def crawl(db: str, base_url: str, *args: str) -> tuple[dict[str, Any], float]:
    """Run one crawl process; return its JSON summary and its peak RSS in MB."""
    process = subprocess.Popen(
        [str(BIN), "crawl", "--database-url", db, "--base-url", base_url, "--json", *args],
        stdout=subprocess.PIPE,
    )
    out = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    summary = json.loads(out) if out.strip() else {"status": f"exit {process.returncode}"}
    return summary, usage.ru_maxrss / 1024


def crawled_users(db: str) -> list[int]:
    from sqlalchemy import select

    from kitsu_ingest.store import User, make_engine

    with make_engine(db).connect() as conn:
        return list(conn.execute(select(User.__table__.c.id)).scalars())


def minimum_requests(users: int, user_ids: list[int]) -> float:
    """ceil(entries/500) + ceil(anime favourites/20) + 1/20 per user, from the ground truth."""
    from kitsu_ingest.emulator import ground_truth

    return sum(
        math.ceil(len(t.entries) / 500) + math.ceil(len(t.favorites["Anime"]) / 20) + 1 / 20
        for t in ground_truth(users, SEED, user_ids=user_ids)
    )


def requests_and_throughput(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, emulator(args.users) as url:
        db = store(tmp, "crawl")
        summary, rss = crawl(db, url, "--sample", str(args.sample), "--rate", "0",
                             "--concurrency", str(args.concurrency))
        ids = crawled_users(db)
        minimum = minimum_requests(args.users, ids)
        nsfw = summary["nsfw_resolved"] + summary["nsfw_unresolved"]
        seconds = summary["elapsed"]
        print(f"crawl of {summary['users_done']:,} users ({args.users:,}-user emulator): "
              f"{summary['entries']:,} entries, {summary['favorites']:,} favourites, {summary['anime']:,} anime")
        print(f"  requests: {summary['requests']:,} = {summary['requests'] / len(ids):.3f}/user; "
              f"minimum {minimum:,.0f} = {minimum / len(ids):.3f}/user; "
              f"ratio {summary['requests'] / minimum:.3f} "
              f"({(summary['requests'] - nsfw) / minimum:.3f} without the {nsfw:,} NSFW related-link lookups)")
        print(f"  throughput: {seconds:.1f} s, {summary['users_done'] / seconds:.1f} users/s, "
              f"{summary['entries'] / seconds:,.0f} entries/s, {summary['requests'] / seconds:.1f} req/s; "
              f"peak RSS {rss:.0f} MB")


def polite(args: argparse.Namespace) -> None:
    faults = ("--latency", "300-2100", "--rate-limit", str(args.rate), "--no-retry-after")
    what = ("--all",) if args.all else ("--sample", str(args.sample))
    with tempfile.TemporaryDirectory() as tmp, emulator(args.users, *faults) as url:
        summary, _ = crawl(store(tmp, "crawl"), url, *what, "--rate", str(args.rate),
                           "--concurrency", str(args.concurrency))
        achieved = summary["requests"] / summary["elapsed"]
        print(f"limit {args.rate} req/s, latency 300-2100 ms: {summary['requests']:,} requests in "
              f"{summary['elapsed']:.1f} s = {achieved:.2f} req/s ({achieved / args.rate:.1%} of the limit); "
              f"429s: {summary['retries'].get('429', 0)}; status {summary['status']}")


def memory(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, emulator(args.users) as url:
        summary, rss = crawl(store(tmp, "crawl"), url, "--sample", str(args.sample), "--rate", "0",
                             "--concurrency", str(args.concurrency))
        print(f"{summary['users_done']:,} users, {summary['entries']:,} entries in {summary['elapsed']:.0f} s: "
              f"peak RSS of the crawl process {rss:.0f} MB")


def crawl_until(db: str, base_url: str, users: int, *args: str) -> tuple[dict[str, Any], float]:
    """Run a crawl process until `users` users are done (then SIGTERM, as a user stopping it);
    return its stored progress and its peak RSS in MB."""
    from sqlalchemy import func, select

    from kitsu_ingest.store import CrawlUser, make_engine

    process = subprocess.Popen([str(BIN), "crawl", "--database-url", db, "--base-url", base_url, "--quiet", *args],
                               stderr=subprocess.DEVNULL)
    engine = make_engine(db)
    done = 0
    while process.poll() is None and done < users:
        time.sleep(1.0)
        with engine.connect() as conn:
            done = conn.execute(select(func.count()).where(CrawlUser.__table__.c.state == "done")).scalar_one()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(process.pid, 0)
    status = json.loads(subprocess.run([str(BIN), "crawl", "--status", "--json", "--database-url", db],
                                       capture_output=True, text=True, check=True).stdout)
    return status, usage.ru_maxrss / 1024


def all_memory(args: argparse.Namespace) -> None:
    print(f"`crawl --all` against a served {args.users:,}-user emulator, stopped once N users are done")
    print("| N users | users done | entries | peak RSS (MB) | requests / user | users/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    with emulator(args.users) as url:
        for n in args.samples:
            with tempfile.TemporaryDirectory() as tmp:
                status, rss = crawl_until(store(tmp, "all"), url, n, "--all", "--rate", "0",
                                          "--concurrency", str(args.concurrency))
            p = status["progress"]
            print(f"| {n:,} | {p['users_done']:,} | {p['entries']:,} | {rss:.0f} | {p['requests_per_user']:.3f} | "
                  f"{p['users_per_second']:.1f} |", flush=True)


def delta(args: argparse.Namespace) -> None:
    """A full `--all` of the day-0 site, then the day-1 delta; the store against the day-1 truth."""
    from kitsu_ingest.emulator import NOW, Population

    day = ("--churn", str(args.churn), "--growth", str(args.growth))
    with tempfile.TemporaryDirectory() as tmp:
        db = store(tmp, "site")
        with emulator(args.users) as url:
            full, _ = crawl(db, url, "--all", "--rate", "0", "--concurrency", str(args.concurrency))
        with emulator(args.users, "--day", "1", *day) as url:
            since = "2021-11-30T00:00:00Z"
            summary, rss = crawl(db, url, "--all", "--since", since, "--rate", "0",
                                 "--concurrency", str(args.concurrency))
            later = Population(args.users, SEED, day=1, churn=args.churn, growth=args.growth)
            changed, new = later.changed_since(NOW), len(later.new_user_ids(1))
            deleted = later.deleted_since(1)
            stored_before = entries_of(db)
            exact_but_deleted = mismatch(db, args.users, later)
            catch_up, _ = crawl(db, url, "--touched-by", str(summary["run_id"]), "--rate", "0",
                                "--concurrency", str(args.concurrency))
            exact = mismatch(db, args.users, later)
    new_requests = summary["requests"] - summary["delta_pages"] - summary["nsfw_resolved"] - summary["nsfw_unresolved"]
    goal = 1.1 * changed / 500
    print(f"full --all of the day-0 site: {full['users_done']:,} users, {full['entries']:,} entries, "
          f"{full['requests']:,} requests ({full['requests'] / full['users_done']:.3f} per user), "
          f"{full['elapsed']:.0f} s")
    print(f"day 1 (churn {args.churn}, growth {args.growth}): {changed:,} entries changed "
          f"({changed / max(stored_before, 1):.2%} of the {stored_before:,} stored), {new:,} new users, "
          f"{deleted:,} entries deleted")
    print(f"delta: {summary['requests']:,} requests = {summary['delta_pages']:,} delta pages "
          f"(goal <= 1.1 x {changed:,}/500 = {goal:,.0f}) + {summary['nsfw_resolved'] + summary['nsfw_unresolved']:,} "
          f"NSFW lookups + {new_requests:,} for the {summary['new_users']:,} new users; "
          f"{summary['elapsed']:.0f} s; peak RSS {rss:.0f} MB; anomalies {summary['anomalies']}")
    print(f"store vs the day-1 truth after the delta: {exact_but_deleted}")
    print(f"after `crawl --touched-by {summary['run_id']}` ({catch_up['users_done']:,} users, "
          f"{catch_up['requests']:,} requests): {exact}")


def entries_of(db: str) -> int:
    from sqlalchemy import func, select

    from kitsu_ingest.store import LibraryEntry, make_engine

    with make_engine(db).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(LibraryEntry.__table__)).scalar_one())


def mismatch(db: str, users: int, population: Any) -> str:
    """How the stored entries and anime favourites differ from what the emulator serves."""
    from sqlalchemy import select

    from kitsu_ingest.crawl.mapping import parse_time
    from kitsu_ingest.emulator import ground_truth
    from kitsu_ingest.store import Favorite, LibraryEntry, make_engine

    truth, favorites = set(), set()
    for t in ground_truth(users, SEED, population=population):
        truth |= {(e.id, t.user_id, e.related_anime_id, e.status, e.progress, e.rating_twenty,
                   parse_time(e.updated_at)) for e in t.entries}
        favorites |= {(t.user_id, aid, rank) for rank, aid in enumerate(t.favorites["Anime"])}
    e, f = LibraryEntry.__table__, Favorite.__table__
    with make_engine(db).connect() as conn:
        stored = {tuple(r) for r in conn.execute(select(e.c.id, e.c.user_id, e.c.anime_id, e.c.status, e.c.progress,
                                                        e.c.rating_twenty, e.c.updated_at))}
        stored_favorites = {tuple(r) for r in conn.execute(select(f.c.user_id, f.c.anime_id, f.c.fav_rank))}
    return (f"{len(stored - truth):,} stored entries the site no longer has, {len(truth - stored):,} missing, "
            f"favourites {'identical' if stored_favorites == favorites else 'different'}"
            + (" (exact)" if stored == truth and stored_favorites == favorites else ""))


def snapshot(db: str) -> dict[str, list[tuple[Any, ...]]]:
    from sqlalchemy import select

    from kitsu_ingest.store import Anime, Favorite, LibraryEntry, User, make_engine

    out = {}
    with make_engine(db).connect() as conn:
        for model in (User, Anime, LibraryEntry, Favorite):
            table = model.__table__
            cols = [c for c in table.c if c.name != "fetched_at"]
            out[table.name] = [tuple(r) for r in conn.execute(select(*cols).order_by(table.c.id))]
    return out


def faults(args: argparse.Namespace) -> None:
    crawl_args = ("--rate", "0", "--concurrency", str(args.concurrency), "--timeout", "1")
    with tempfile.TemporaryDirectory() as tmp:
        clean_db = store(tmp, "clean")
        with emulator(args.users) as url:
            clean, _ = crawl(clean_db, url, "--sample", str(args.sample), "--seed", "3", *crawl_args)
        faulty = ("--p-5xx", "0.10", "--p-429", "0.05", "--p-hang", "0.02", "--hang-seconds", "5",
                  "--p-malformed", "0.01", "--no-retry-after")
        db = store(tmp, "faulty")
        rng = random.Random(args.seed)
        with emulator(args.users, *faulty) as url:
            command = [str(BIN), "crawl", "--database-url", db, "--base-url", url, "--quiet", *crawl_args]
            started = time.monotonic()
            for kill in range(3):
                first = ["--sample", str(args.sample), "--seed", "3"] if kill == 0 else ["--resume"]
                process = subprocess.Popen([*command, *first])
                delay = rng.uniform(1.0, 6.0)
                time.sleep(delay)
                alive = process.poll() is None
                process.send_signal(signal.SIGKILL)
                process.wait()
                print(f"  kill {kill + 1}: SIGKILL after {delay:.1f} s ({'mid-crawl' if alive else 'already done'})")
                time.sleep(61)  # let the killed run's heartbeat go stale, as after a real crash
            runs = 0
            while True:
                runs += 1
                summary, _ = crawl(db, url, "--resume", *crawl_args)
                if summary.get("status") == "done" or runs >= 5:
                    break
            elapsed = time.monotonic() - started
        same = snapshot(db) == snapshot(clean_db)
        print(f"faults 10% 5xx, 5% 429, 2% hangs, 1% malformed + 3 SIGKILLs: finished after {runs} resume(s), "
              f"{elapsed:.0f} s with waits; retries of the last run {summary.get('retries')}; "
              f"store identical to the fault-free crawl ({clean['users_done']} users, {clean['entries']:,} "
              f"entries): {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("measure", choices=["requests", "polite", "memory", "faults", "all-memory", "delta"])
    parser.add_argument("--sample", default="5000", help="users (all-memory: a comma-separated list)")
    parser.add_argument("--all", action="store_true", help="polite: crawl --all instead of a sample")
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--growth", type=float, default=0.001)
    parser.add_argument("--users", type=int, default=None, help="emulator population")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.samples = [int(n) for n in str(args.sample).split(",")]
    args.sample = args.samples[-1]
    args.users = args.users or max(20_000, int(args.sample * 1.2))
    args.concurrency = args.concurrency or {"polite": 24, "memory": 8, "all-memory": 8}.get(args.measure, 16)
    {"requests": requests_and_throughput, "polite": polite, "memory": memory, "faults": faults,
     "all-memory": all_memory, "delta": delta}[args.measure](args)


if __name__ == "__main__":
    main()
