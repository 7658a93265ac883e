"""Serving benchmarks: cold `recommend user 70211`, batch users/s, HTTP latency at a fixed rate.

    python bench/bench_serve.py cold   [--runs 10]
    python bench/bench_serve.py batch  [--users 100000 --items 20000 --factors 64 -n 10]
    python bench/bench_serve.py http   [--rate 200 --seconds 30] [--dashboard-rate 2]
    python bench/bench_serve.py all

A synthetic setup is built once in bench/out/serve-setup/ (reused if present): a SQLite store
with 20,000 anime, 2,000 users of ~100 library entries each and user 70211 (650 entries, 36
favourites), and a saved 64-factor model over 100,000 users x 20,000 anime (random factors: the
serving cost does not depend on their values). Goals: cold <= 1.5 s; batch >= 20,000 users/s;
HTTP p99 < 25 ms with zero errors at 200 requests/s on the JSON routes, with the dashboard served by
the same process (`--dashboard-rate` also has its pages fetched meanwhile, timed apart). Figures go
to bench/out/serve.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import numpy as np

OUT = Path(__file__).resolve().parent / "out"
SETUP = OUT / "serve-setup"
RECOMMEND = str(Path(sys.executable).parent / "recommend")
STORE_USERS, ANIME, MODEL_USERS, FACTORS = 2000, 20_000, 100_000, 64


def _save(name: str, figures: dict[str, Any]) -> None:
    path = OUT / "serve.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    saved[name] = figures
    path.write_text(json.dumps(saved, indent=2) + "\n")
    click.echo(json.dumps({name: figures}, indent=2))


def _random_model(users: int, items: int, factors: int, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    user_factors = rng.standard_normal((users, factors), dtype=np.float32) * 0.3
    item_factors = rng.standard_normal((items, factors), dtype=np.float32) * 0.3
    return user_factors, item_factors


def _setup() -> tuple[str, Path]:
    """The bench store and model (built once)."""
    url, models = f"sqlite:///{SETUP / 'kitsu.db'}", SETUP / "models"
    if (SETUP / "ready").is_file():
        return url, models
    from kitsu_ingest.store import Anime, Favorite, LibraryEntry, User, make_engine, upsert
    from kitsu_ingest.store.migrate import upgrade
    from recommender.data.events import EventWeights
    from recommender.models.als import ALS
    from recommender.registry import ModelCard, save_model
    from recommender.training import TrainConfig

    SETUP.mkdir(parents=True, exist_ok=True)
    (SETUP / "kitsu.db").unlink(missing_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    now, rng = datetime(2024, 1, 1), random.Random(0)
    anime_ids = list(range(1, ANIME + 1))
    upsert(engine, Anime.__table__, ({"id": a, "canonical_title": f"Anime {a}", "subtype": "TV",  # type: ignore[attr-defined]
                                      "popularity_rank": a, "nsfw": False, "fetched_at": now}
                                     for a in anime_ids))
    users = [70211, *range(1, STORE_USERS)]
    counters = {c.name: 0 for c in User.__table__.c if c.name.endswith(("_count", "_anime"))}  # type: ignore[attr-defined]
    upsert(engine, User.__table__, ({"id": u, **counters, "fetched_at": now} for u in users))  # type: ignore[attr-defined]
    statuses = ["completed", "current", "planned", "on_hold", "dropped"]

    def entries() -> Any:
        next_id = 1
        for u in users:
            for a in rng.sample(anime_ids[:5000], 650 if u == 70211 else rng.randint(20, 180)):
                yield {"id": next_id, "user_id": u, "anime_id": a, "status": rng.choice(statuses),
                       "progress": 1, "reconsuming": False, "reconsume_count": 0,
                       "updated_at": now, "fetched_at": now}
                next_id += 1

    upsert(engine, LibraryEntry.__table__, entries())  # type: ignore[attr-defined]
    upsert(engine, Favorite.__table__, [{"id": k + 1, "user_id": 70211, "anime_id": a,  # type: ignore[attr-defined]
                                         "fav_rank": k, "fetched_at": now}
                                        for k, a in enumerate(rng.sample(anime_ids, 36))])
    engine.dispose()
    model = ALS(factors=FACTORS, regularization=0.1, alpha=10.0, iterations=1)
    model.user_factors, model.item_factors = _random_model(MODEL_USERS, ANIME, FACTORS)
    user_ids = np.array(sorted({*users, *range(1, MODEL_USERS + 100_000, 2)})[:MODEL_USERS])
    if 70211 not in set(user_ids.tolist()):
        user_ids[-1] = 70211
        user_ids.sort()
    card = ModelCard(family="als", params={**model.params, "transform": "log", "bm25": False},
                     weights=EventWeights(), config=TrainConfig(), validation={}, test={},
                     fingerprint="benchsetup", shape=(MODEL_USERS, ANIME), nnz=0, source={"kind": "synthetic"})
    save_model(models, model, user_ids, np.array(anime_ids), card)
    (SETUP / "ready").write_text("ok\n")
    return url, models


def _env(url: str, models: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "MODEL_DIR": str(models)}


@click.group()
def main() -> None:
    """Serving benchmarks (see the module docstring)."""


@main.command()
@click.option("--runs", type=int, default=10, show_default=True)
def cold(runs: int) -> None:
    """`recommend user 70211` from a cold shell, end to end (a fresh process each run)."""
    url, models = _setup()
    env, times = _env(url, models), []
    command = [RECOMMEND, "user", "70211"]
    subprocess.run(command, env=env, check=True, capture_output=True)  # warm the disk cache
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    _save("cold", {"command": "recommend user 70211", "runs": runs,
                   "model": f"{MODEL_USERS} users x {ANIME} anime x {FACTORS} factors",
                   "min_s": min(times), "median_s": statistics.median(times),
                   "max_s": max(times), "goal_s": 1.5, "met": statistics.median(times) <= 1.5})


@main.command()
@click.option("--users", type=int, default=100_000, show_default=True)
@click.option("--items", type=int, default=20_000, show_default=True)
@click.option("--factors", type=int, default=64, show_default=True)
@click.option("-n", "n", type=int, default=10, show_default=True)
@click.option("--per-user-excluded", type=int, default=50, show_default=True)
@click.option("--threads", type=int, default=0, help="0: one per core.")
def batch(users: int, items: int, factors: int, n: int, per_user_excluded: int,
          threads: int) -> None:
    """Top N for every user of a synthetic model: the ranking alone, then written to Parquet."""
    import tempfile

    from recommender.data.events import EventWeights
    from recommender.models.als import ALS
    from recommender.ranking import Exclusions
    from recommender.registry import ModelCard, SavedModel
    from recommender.serving.batch import recommend_all, top_n_all
    from recommender.training import TrainConfig

    user_factors, item_factors = _random_model(users, items, factors, seed=1)
    rng = np.random.default_rng(2)
    rows = np.repeat(np.arange(users), per_user_excluded)
    exclusions = Exclusions.from_pairs(rows, rng.integers(0, items, len(rows)), users)
    figures: dict[str, Any] = {"users": users, "items": items, "factors": factors, "n": n,
                               "excluded_per_user": per_user_excluded,
                               "threads": threads or os.cpu_count(), "goal_users_per_s": 20_000}
    model = ALS(factors=factors)
    model.user_factors, model.item_factors = user_factors, item_factors
    started = time.perf_counter()
    top_n_all(model, users, n, exclusions, threads=threads, on_block=lambda *_: None)
    seconds = time.perf_counter() - started
    figures["rank_users_per_s"] = users / seconds

    card = ModelCard(family="als", params=model.params, weights=EventWeights(), config=TrainConfig(),
                     validation={}, test={}, fingerprint="bench", shape=(users, items), nnz=0,
                     source={"kind": "synthetic"})
    saved = SavedModel(Path("."), model, np.arange(users, dtype=np.int64), np.arange(items, dtype=np.int64), card)
    with tempfile.TemporaryDirectory() as scratch:
        summary = recommend_all(saved, Path(scratch) / "recs.parquet", n, exclusions, threads=threads)
    figures["parquet_users_per_s"] = summary.users_per_second
    figures["met"] = figures["rank_users_per_s"] >= 20_000
    _save("batch", figures)


DASHBOARD_PAGES = ["/", "/dashboard/store", "/dashboard/models", "/dashboard/segments", "/dashboard/users?id=70211",
                   "/dashboard/anime?q=12", "/docs"]


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> str:
    """One keep-alive GET; returns the status."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    return head.split(b" ", 2)[1].decode()


async def _pages(port: int, rate: float, seconds: float) -> dict[str, Any]:
    """Dashboard pages at `rate` per second, one after another on one connection (a few people
    looking at it), timed apart from the JSON requests."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    times: list[float] = []
    statuses: dict[str, int] = {}
    t0 = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        started = time.perf_counter()
        status = await _get(reader, writer, DASHBOARD_PAGES[i % len(DASHBOARD_PAGES)])
        statuses[status] = statuses.get(status, 0) + 1
        times.append(time.perf_counter() - started)
    writer.close()
    ms = np.array(times or [0.0]) * 1000
    return {"pages": len(times), "statuses": statuses, "page_p50_ms": float(np.percentile(ms, 50)),
            "page_max_ms": float(ms.max())}


async def _load(port: int, user_ids: list[int], rate: float, seconds: float,
                connections: int = 64, anime_ids: list[int] | None = None) -> dict[str, Any]:
    """Open loop: request i is due at t0 + i / rate and its latency counts from then (no
    coordinated omission), sent on one of `connections` keep-alive HTTP/1.1 connections by a
    minimal client (httpx costs more CPU per request than the server does)."""
    rng = random.Random(0)
    total = int(rate * seconds)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    queue: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (job := await queue.get()) is not None:
            due, path = job
            try:
                status = await _get(reader, writer, path)
                if status != "200":
                    errors[status] = errors.get(status, 0) + 1
            except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            latencies.append(time.perf_counter() - due)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    t0 = time.perf_counter()
    for i in range(total):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        anime = rng.choice(anime_ids) if anime_ids else rng.randint(1, 5000)
        path = (f"/anime/{anime}/similar?n=10" if i % 10 == 9 else
                f"/users/{rng.choice(user_ids)}/recommendations?n=10")
        queue.put_nowait((due, path))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {"requests": total, "answered_per_s": len(latencies) / elapsed, "errors": errors,
            "error_count": sum(errors.values()), "p50_ms": float(np.percentile(ms, 50)),
            "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max())}


@main.command()
@click.option("--rate", type=float, default=200, show_default=True)
@click.option("--seconds", type=float, default=30, show_default=True)
@click.option("--dashboard-rate", type=float, default=0, show_default=True,
              help="Dashboard pages per second fetched meanwhile (0: none).")
def http(rate: float, seconds: float, dashboard_rate: float) -> None:
    """`recommend serve` (the API and the dashboard) in a subprocess; an open-loop client at RATE
    requests/s on loopback (90% user recommendations for store users, 10% similar anime)."""
    import httpx

    url, models = _setup()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([RECOMMEND, "serve", "--port", str(port)], env=_env(url, models),
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(
                        f"the server did not start: {server.stderr.read() if server.stderr else ''}"
                    ) from None
                time.sleep(0.2)
        users = [70211, *range(1, STORE_USERS)]
        asyncio.run(_load(port, users, rate, 2))  # warm-up
        async def measured() -> dict[str, Any]:
            load = _load(port, users, rate, seconds)
            if not dashboard_rate:
                return await load
            json_figures, page_figures = await asyncio.gather(load, _pages(port, dashboard_rate, seconds))
            return {**json_figures, "dashboard": page_figures}

        figures = asyncio.run(measured())
    finally:
        server.terminate()
        server.wait(10)
    figures.update({"rate": rate, "seconds": seconds, "dashboard_rate": dashboard_rate, "goal_p99_ms": 25,
                    "load_average": os.getloadavg()[0],
                    "met": figures["p99_ms"] < 25 and figures["error_count"] == 0})
    _save("http-with-dashboard-traffic" if dashboard_rate else "http", figures)


@main.command("all")
@click.pass_context
def run_all(ctx: click.Context) -> None:
    """cold, batch and http with their defaults."""
    ctx.invoke(cold)
    ctx.invoke(batch)
    ctx.invoke(http)


if __name__ == "__main__":
    main()
