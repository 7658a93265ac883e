"""Benchmark the Kitsu emulator served by uvicorn on loopback: pages per second and resident memory.

For each population size it starts `kitsu-ingest emulator` in a subprocess (one core, no faults), then
drives it with an httpx client (bytes only, no JSON parsing) for a few seconds per workload:

- `library-500`: full library pages of users with 500+ visible entries, include=anime, limit 500;
- `library-crawl`: every library page (include=anime, limit 500) of consecutive users, as a crawl sees them;
- `users-20`: `/users?page[limit]=20` pages at increasing offsets (fresh users, generated on demand).

RSS of the server is read from /proc after start-up and after the load.

    .venv/bin/python bench/bench_emulator.py [--sizes 20000,1000000] [--seconds 8] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kitsu_ingest.emulator import Population

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
    big, crawl = [], []
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        results.append(bench(size, args.seed, args.seconds, args.concurrency))
        print(f"  {size:>9,} users  RSS idle {results[-1]['rss_mb_idle']} MB, "
              f"loaded {results[-1]['rss_mb_loaded']} MB", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
