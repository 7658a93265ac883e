"""Crawler benchmarks against the emulator served on loopback (issue 4's five measures).

    .venv/bin/python bench/bench_crawl.py requests  --sample 5000    # 1 + 2: requests/user, throughput
    .venv/bin/python bench/bench_crawl.py polite    --sample 300     # 3: 10 req/s limit, 300-2100 ms
    .venv/bin/python bench/bench_crawl.py memory    --sample 50000   # 4: peak RSS of the crawl process
    .venv/bin/python bench/bench_crawl.py faults    --sample 500     # 5: faults + 3 SIGKILLs + resume

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
def emulator(users: int, *faults: str) -> Iterator[str]:
    """Serve the emulator on loopback; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN), "emulator", "--port", str(port), "--users", str(users), "--seed", str(SEED), *faults],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/edge"
    try:
        with httpx.Client(timeout=10) as probe:
            for _ in range(100):
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
    with tempfile.TemporaryDirectory() as tmp, emulator(args.users, *faults) as url:
        summary, _ = crawl(store(tmp, "crawl"), url, "--sample", str(args.sample), "--rate", str(args.rate),
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
    parser.add_argument("measure", choices=["requests", "polite", "memory", "faults"])
    parser.add_argument("--sample", type=int, default=5000)
    parser.add_argument("--users", type=int, default=None, help="emulator population")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.users = args.users or max(20_000, int(args.sample * 1.2))
    args.concurrency = args.concurrency or {"polite": 24, "memory": 8}.get(args.measure, 16)
    {"requests": requests_and_throughput, "polite": polite, "memory": memory, "faults": faults}[args.measure](args)


if __name__ == "__main__":
    main()
