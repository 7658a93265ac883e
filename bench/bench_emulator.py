"""Benchmark the Kitsu emulator served by uvicorn on loopback: pages per second and resident memory.

For each population size it starts `kitsu-ingest emulator` in a subprocess (one core, no faults), then
drives it with an httpx client (bytes only, no JSON parsing) for a few seconds per workload:

- `library-500`: full library pages of users with 500+ visible entries, include=anime, limit 500;
- `library-crawl`: every library page (include=anime, limit 500) of consecutive users, as a crawl sees them;
- `users-20`: `/users?page[limit]=20` pages at increasing offsets (fresh users, generated on demand).

RSS of the server is read from /proc after start-up and after the load.

Then the site-wide delta (`--delta-users`, default 1,200,000, at `--delta-day` 1), in-process through
httpx.ASGITransport: `/library-entries?filter[since]=T&filter[kind]=anime&sort=updatedAt&include=anime,user
&page[limit]=500` from T = NOW, paged by time (next T = the last updatedAt seen), as a delta crawler
asks it. It reports the population's start-up, the delta index's build, the first and later pages, a
deep offset page and `sort=-updatedAt` pages (the first sorts the index), the changed-entry count against
`Population.changed_since`, its share of all visible entries (estimated on 5,000 users), the
deletions and new users a delta cannot see, and the process's RSS.

    .venv/bin/python bench/bench_emulator.py [--sizes 20000,1000000] [--seconds 8] [--concurrency 8]
    .venv/bin/python bench/bench_emulator.py --sizes '' --delta-users 1200000   # the delta only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from kitsu_ingest.emulator import NOW, EmulatorConfig, Population, create_app
from kitsu_ingest.emulator.documents import iso

OUT = Path(__file__).resolve().parent / "out" / "emulator.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _drive(base: str, urls: list[str], seconds: float, concurrency: int) -> dict[str, float]:
    """Request urls round-robin from `concurrency` tasks for `seconds`; pages/s and MB/s."""
    pages = 0
    volume = 0
    cursor = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal pages, volume, cursor
        while time.perf_counter() < deadline:
            url = urls[cursor % len(urls)]
            cursor += 1
            response = await client.get(url)
            response.raise_for_status()
            pages += 1
            volume += len(response.content)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"pages": pages, "pages_per_s": round(pages / elapsed, 1),
            "mb_per_s": round(volume / elapsed / 1e6, 1), "kb_per_page": round(volume / max(pages, 1) / 1e3, 1)}


def _workloads(users: int, seed: int) -> dict[str, list[str]]:
    pop = Population(users, seed, cache_size=16)
    big: list[str] = []
    crawl: list[str] = []
    lib = "/library-entries?filter%5BuserId%5D={}&filter%5Bkind%5D=anime&include=anime&page%5Blimit%5D=500"
    for uid in pop.user_ids[:3000].tolist():
        visible = int((~pop.user(uid).library.private).sum())
        if visible >= 500 and len(big) < 200:
            big.append(lib.format(uid))
        if len(crawl) < 4000:
            crawl += [lib.format(uid) + f"&page%5Boffset%5D={o}" for o in range(0, max(visible, 1), 500)]
    offset0 = max(len(pop) // 2 - 200_000, 0)
    user_pages = [f"/users?page%5Blimit%5D=20&page%5Boffset%5D={offset0 + 20 * i}" for i in range(20_000)]
    return {"library-500": big, "library-crawl": crawl, "users-20": user_pages}


def bench(users: int, seed: int, seconds: float, concurrency: int) -> dict[str, object]:
    port = _free_port()
    cmd = [sys.executable, "-c", "from kitsu_ingest.cli import main; main()", "emulator",
           "--port", str(port), "--users", str(users), "--seed", str(seed)]
    server = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/edge"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/users?page%5Blimit%5D=1", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        result: dict[str, object] = {"users": users, "rss_mb_idle": round(_rss_mb(server.pid), 1)}
        for name, urls in _workloads(users, seed).items():
            result[name] = asyncio.run(_drive(base, urls, seconds, concurrency))
            print(f"  {users:>9,} users  {name:<14} {result[name]}", flush=True)
        result["rss_mb_loaded"] = round(_rss_mb(server.pid), 1)
        return result
    finally:
        server.terminate()
        server.wait(10)


_DELTA = ("/library-entries?filter%5Bsince%5D={since}&filter%5Bkind%5D=anime&sort={sort}"
          "&include=anime%2Cuser&page%5Blimit%5D=500&page%5Boffset%5D={offset}")


def _visible_share(pop: Population, changed: int, sample: int = 5000) -> float:
    """changed / all visible entries, the total estimated on `sample` users spread over the ids."""
    ids = pop.user_ids[:: max(len(pop) // sample, 1)][:sample].tolist()
    visible = sum(int((~pop.user(u).library.private).sum()) for u in ids) / len(ids) * len(pop)
    return changed / visible


async def _delta_pages(app: Starlette, pages: int) -> dict[str, object]:
    """Latencies (ms) of the delta's pages: the first (index build), then paging by time."""
    timings: list[float] = []
    cpu: list[float] = []  # CPU time per page: what the page costs whatever else the machine runs
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kitsu.test",
                                 timeout=None) as client:

        async def get(since: str, sort: str = "updatedAt", offset: int = 0) -> tuple[dict[str, Any], float]:
            url = "/api/edge" + _DELTA.format(since=since.replace(":", "%3A"), sort=sort, offset=offset)
            start, start_cpu = time.perf_counter(), time.process_time()
            response = await client.get(url)
            elapsed = (time.perf_counter() - start) * 1e3
            cpu.append((time.process_time() - start_cpu) * 1e3)
            response.raise_for_status()
            return response.json(), elapsed

        since = iso(NOW)
        first, first_ms = await get(since)
        count, seen, doc = first["meta"]["count"], len(first["data"]), first
        cpu.clear()
        for _ in range(pages):
            since = doc["data"][-1]["attributes"]["updatedAt"]
            doc, ms = await get(since)
            timings.append(ms)
            seen += len(doc["data"])
        page_cpu = sorted(cpu)
        deep, deep_ms = await get(iso(NOW), offset=count // 2)
        _, newest_first_ms = await get(iso(NOW), sort="-updatedAt")
        _, newest_ms = await get(iso(NOW), sort="-updatedAt", offset=5000)
    ordered = sorted(timings)
    return {"count": count, "first_page_ms": round(first_ms), "pages": len(timings),
            "page_ms_median": round(ordered[len(ordered) // 2], 1),
            "page_ms_p95": round(ordered[int(len(ordered) * 0.95)], 1), "page_ms_max": round(ordered[-1], 1),
            "page_cpu_ms_median": round(page_cpu[len(page_cpu) // 2], 1), "page_cpu_ms_max": round(page_cpu[-1], 1),
            "entries_seen": seen, "deep_offset_page_ms": round(deep_ms, 1), "deep_page_entries": len(deep["data"]),
            "newest_first_page_ms": round(newest_first_ms, 1), "newest_later_page_ms": round(newest_ms, 1)}


def bench_delta(users: int, seed: int, day: int, pages: int) -> dict[str, object]:
    """The site-wide delta of a `users` population at `day`, served in-process."""
    start = time.perf_counter()
    app = create_app(EmulatorConfig(users=users, seed=seed, day=day))
    pop: Population = app.state.population
    result: dict[str, object] = {"users": users, "day": day, "startup_s": round(time.perf_counter() - start, 1)}
    start, start_cpu = time.perf_counter(), time.process_time()
    pop.delta()
    result["index_build_s"] = round(time.perf_counter() - start, 1)
    result["index_build_cpu_s"] = round(time.process_time() - start_cpu, 1)
    result.update(asyncio.run(_delta_pages(app, pages)))
    changed = pop.changed_since(NOW)
    result.update({"changed_since_now": changed, "count_matches": changed == result["count"],
                   "changed_share": round(_visible_share(pop, changed), 4), "touched_users": len(pop.delta().users),
                   "deleted_since_day_1": pop.deleted_since(1), "new_users": len(pop.new_user_ids(1)),
                   "rss_mb": round(_rss_mb(os.getpid()), 1)})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delta-users", type=int, default=1_200_000, help="0: skip the delta measure")
    parser.add_argument("--delta-day", type=int, default=1)
    parser.add_argument("--delta-pages", type=int, default=40)
    args = parser.parse_args()
    results: list[dict[str, object]] = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        results.append(bench(size, args.seed, args.seconds, args.concurrency))
        print(f"  {size:>9,} users  RSS idle {results[-1]['rss_mb_idle']} MB, "
              f"loaded {results[-1]['rss_mb_loaded']} MB", flush=True)
    if args.delta_users:
        results.append({"delta": bench_delta(args.delta_users, args.seed, args.delta_day, args.delta_pages)})
        print(f"  site-wide delta: {results[-1]['delta']}", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
