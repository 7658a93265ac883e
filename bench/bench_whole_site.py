"""The recommender at the whole site's scale (issue 14): read, train, batch, serve, refresh, segment.

    python bench/sitestore.py --users 1200000 --library-scale 0.24 --database-url sqlite:////tmp/site/site.db
    python bench/bench_whole_site.py read    --database-url sqlite:////tmp/site/site.db
    python bench/bench_whole_site.py als     --database-url ... [--factors 64 --iterations 5]
    python bench/bench_whole_site.py train   --database-url ... --model-dir /tmp/site/models
    python bench/bench_whole_site.py batch   --database-url ... --model-dir /tmp/site/models
    python bench/bench_whole_site.py serve   --database-url ... --model-dir /tmp/site/models
    python bench/bench_whole_site.py refresh --database-url ... --model-dir /tmp/site/models [--users 10000]
    python bench/bench_whole_site.py refresh-quality --database-url ... [--users 10000]
    python bench/bench_whole_site.py segment --database-url sqlite:////tmp/site/site.db

Commands run as the user runs them (child processes; peak RSS is the child's ru_maxrss), except
`read`, `als` and `refresh-quality`, which time library calls in this process. Each prints one JSON
line, also appended to bench/out/whole_site.json with the 1-minute load average (the machine is
shared: other work inflates the times; memory does not depend on it).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import numpy as np

OUT = Path(__file__).resolve().parent / "out" / "whole_site.json"
BIN = Path(sys.executable).parent


def _report(stage: str, figures: dict[str, Any]) -> None:
    figures = {"stage": stage, "at": datetime.now(UTC).isoformat(timespec="seconds"),
               "load_average": round(os.getloadavg()[0], 1), **figures}
    print(json.dumps(figures))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(OUT.read_text()) if OUT.exists() else []
    OUT.write_text(json.dumps([*history, figures], indent=1))


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _child(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run a command; its result, wall seconds and peak RSS (MB) of the largest child so far."""
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(args[:3])} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done, seconds, round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def _store(url: str) -> Any:
    from recommender.data.store import StoreReader

    return StoreReader.open(url)


@click.group()
def main() -> None:
    """Whole-site benchmarks (see the module docstring)."""


url_option = click.option("--database-url", required=True)
models_option = click.option("--model-dir", type=click.Path(path_type=Path), required=True)


@main.command()
@url_option
def read(database_url: str) -> None:
    """Read every event as typed columns, then build the interactions (goal: >= 2M rows/s)."""
    from recommender.data.sources import load_interactions

    store = _store(database_url)
    started = time.perf_counter()
    columns = store.event_columns()
    read_s = time.perf_counter() - started
    rows = len(columns.codes)
    del columns
    started = time.perf_counter()
    data = load_interactions(None, store=store)
    total_s = time.perf_counter() - started
    _report("read", {"rows": rows, "read_seconds": round(read_s, 1), "rows_per_s": round(rows / read_s),
                     "read_and_build_seconds": round(total_s, 1), "build_seconds": round(total_s - read_s, 1),
                     "users": data.shape[0], "items": data.shape[1], "nnz": data.nnz, "peak_rss_mb": _peak_mb(),
                     "goal_rows_per_s": 2_000_000})


@main.command()
@url_option
@click.option("--factors", type=int, default=64, show_default=True)
@click.option("--iterations", type=int, default=5, show_default=True)
@click.option("--regularization", type=float, default=0.3, show_default=True)
@click.option("--alpha", type=float, default=10.0, show_default=True)
def als(database_url: str, factors: int, iterations: int, regularization: float, alpha: float) -> None:
    """ALS seconds per iteration on the whole matrix against the floating-point estimate
    (cg_steps + 1) x (2 f^2 (users + items) + 8 f nnz) per iteration (implicit's CG: 3 steps)."""
    from recommender.data.events import apply_confidence
    from recommender.data.sources import load_interactions
    from recommender.models.als import ALS

    data = load_interactions(None, store=_store(database_url))
    started = time.perf_counter()
    confidence = apply_confidence(data.matrix)
    confidence_s = time.perf_counter() - started
    marks: list[float] = []
    model = ALS(factors, regularization, alpha, iterations)
    started = time.perf_counter()
    model.fit(confidence, checkpoints=range(1, iterations + 1),
              on_checkpoint=lambda n, m, s: marks.append(s))
    users, items = data.shape
    flops = 4 * (2 * factors ** 2 * (users + items) + 8 * factors * data.nnz)
    per_iteration = float(np.median(np.diff([0.0, *marks])))
    _report("als", {"users": users, "items": items, "nnz": data.nnz, "factors": factors,
                    "confidence_seconds": round(confidence_s, 1), "seconds_per_iteration": round(per_iteration, 2),
                    "iteration_seconds": [round(b - a, 2) for a, b in zip([0.0, *marks], marks, strict=False)],
                    "gflop_per_iteration": round(flops / 1e9, 1), "gflops": round(flops / per_iteration / 1e9, 1),
                    "peak_rss_mb": _peak_mb()})


@main.command()
@url_option
@models_option
@click.argument("extra", nargs=-1)
def train(database_url: str, model_dir: Path, extra: tuple[str, ...]) -> None:
    """`recommend train` with the default budget (EXTRA: more options): stage times, peak RSS."""
    done, seconds, peak = _child([str(BIN / "recommend"), "train", "--database-url", database_url,
                                  "--model-dir", str(model_dir), "--json", *extra])
    result = json.loads(done.stdout)
    _report("train", {"seconds": round(seconds, 1), "peak_rss_mb": peak, "goal_peak_mb": 8192,
                      "family": result.get("family"), "timings": result.get("timings"),
                      "validation": result.get("validation"), "test": result.get("test"),
                      "search": result.get("search"), "extra": list(extra)})


@main.command()
@url_option
@models_option
def batch(database_url: str, model_dir: Path) -> None:
    """`recommend batch` for every user of the latest model (goal: >= 20,000 users/s)."""
    out = model_dir.parent / "batch.parquet"
    done, seconds, peak = _child([str(BIN / "recommend"), "batch", "--out", str(out), "--database-url",
                                  database_url, "--model-dir", str(model_dir), "--json"])
    summary = json.loads(done.stdout)
    _report("batch", {"wall_seconds": round(seconds, 1), "peak_rss_mb": peak, **summary, "goal_users_per_s": 20_000})


@main.command()
@url_option
@models_option
@click.option("--rate", type=float, default=200, show_default=True)
@click.option("--seconds", type=float, default=30, show_default=True)
def serve(database_url: str, model_dir: Path, rate: float, seconds: float) -> None:
    """`recommend serve` with the whole-site model: start-up (spawn to the first 200 of /health;
    goal <= 3 s) and latency at RATE requests/s (goal: p99 < 25 ms)."""
    import httpx

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_serve import _load

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "MODEL_DIR": str(model_dir)}
    started = time.perf_counter()
    server = subprocess.Popen([str(BIN / "recommend"), "serve", "--port", str(port)], env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.perf_counter() - started > 300:
                    raise SystemExit(
                        f"the server did not start: {server.stderr.read() if server.stderr else ''}") from None
                time.sleep(0.02)
        startup = time.perf_counter() - started
        from recommender.registry import load_model

        saved = load_model(model_dir)
        users = [int(u) for u in np.random.default_rng(0).choice(saved.user_ids, 5000, replace=False)]
        anime = [int(a) for a in saved.item_ids]
        asyncio.run(_load(port, users, rate, 2, anime_ids=anime))  # warm-up
        figures = asyncio.run(_load(port, users, rate, seconds, anime_ids=anime))
    finally:
        server.terminate()
        server.wait(10)
    _report("serve", {"startup_seconds": round(startup, 2), "goal_startup_seconds": 3, "rate": rate,
                      **figures, "goal_p99_ms": 25})


def _change_users(database_url: str, users: np.ndarray) -> None:
    """Stamp the users' rows as fetched now (what a crawl that found their libraries changed does)
    and give each a new completed entry (an anime of the catalogue's middle)."""
    from sqlalchemy import text

    from kitsu_ingest.store import make_engine

    engine = make_engine(database_url, create=False)
    now = datetime.now(UTC).replace(tzinfo=None)
    rng = np.random.default_rng(1)
    with engine.begin() as conn:
        anime = conn.execute(text("SELECT id FROM anime ORDER BY user_count DESC LIMIT 2000 OFFSET 500")
                             ).scalars().all()
        ids = [int(u) for u in users]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            conn.execute(text("UPDATE library_entries SET fetched_at = :t WHERE user_id IN ("
                              + ",".join(map(str, chunk)) + ")"), {"t": now})
        conn.execute(text("INSERT INTO library_entries (id, user_id, anime_id, status, progress, reconsuming, "
                          "reconsume_count, fetched_at) VALUES (:id, :u, :a, 'completed', 1, false, 0, :t)"),
                     [{"id": u * 5000 + 4999, "u": u, "a": int(rng.choice(anime)), "t": now} for u in ids])
    engine.dispose()


@main.command()
@url_option
@models_option
@click.option("--users", type=int, default=10_000, show_default=True)
def refresh(database_url: str, model_dir: Path, users: int) -> None:
    """`recommend refresh` after USERS users' libraries changed (the store is changed in place)."""
    from recommender.registry import load_model

    ids = load_model(model_dir).user_ids
    chosen = np.sort(np.random.default_rng(2).choice(ids, users, replace=False))
    time.sleep(1.1)  # after the model's read time, to the second
    _change_users(database_url, chosen)
    done, seconds, peak = _child([str(BIN / "recommend"), "refresh", "--json", "--database-url", database_url,
                                  "--model-dir", str(model_dir)])
    _report("refresh", {"changed_users": users, "wall_seconds": round(seconds, 1), "peak_rss_mb": peak,
                        **json.loads(done.stdout)})


@main.command("refresh-quality")
@url_option
@click.option("--users", type=int, default=10_000, show_default=True)
@click.option("--drop", type=float, default=0.3, show_default=True,
              help="The share of each changed user's training entries they did not have yet at training time.")
@click.option("--factors", type=int, default=64, show_default=True)
@click.option("--iterations", type=int, default=15, show_default=True)
def refresh_quality(database_url: str, users: int, drop: float, factors: int, iterations: int) -> None:
    """Quality of a refresh against a full retrain on the same data (goal: within 1% NDCG@10).

    One holdout split of the store's interactions. Model A is fitted on the training part with
    USERS users' rows cut to (1 - DROP) of their entries (their libraries before the change);
    A refreshed folds those users in from their whole training rows. Model B is fitted on the
    whole training part. Both are scored on the test part: over a sample of every user, and over
    the changed users alone."""
    from scipy.sparse import csr_matrix

    from recommender.data.events import apply_confidence
    from recommender.data.sources import load_interactions
    from recommender.data.splits import make_split
    from recommender.evaluation.evaluator import EvalSet, evaluate
    from recommender.models.als import ALS
    from recommender.serving.refresh import fold_users

    data = load_interactions(None, store=_store(database_url))
    split = make_split(data, "holdout", test_fraction=0.2, val_fraction=0.0, seed=0)
    train = split.train
    rng = np.random.default_rng(3)
    eligible = np.flatnonzero(np.diff(train.indptr) >= 4)
    changed = np.sort(rng.choice(eligible, users, replace=False))
    before = train.copy()
    mask = np.ones(before.nnz, bool)
    for row in changed:
        lo, hi = before.indptr[row], before.indptr[row + 1]
        cut = rng.choice(np.arange(lo, hi), int((hi - lo) * drop), replace=False)
        mask[cut] = False
    before = csr_matrix((before.data * mask, before.indices, before.indptr), shape=before.shape)
    before.eliminate_zeros()

    def fit(matrix: csr_matrix) -> tuple[ALS, float]:
        started = time.perf_counter()
        model = ALS(factors, 0.3, 10.0, iterations).fit(apply_confidence(matrix))
        return model, time.perf_counter() - started

    stale, stale_s = fit(before)
    full, full_s = fit(train)
    started = time.perf_counter()
    from dataclasses import replace

    refreshed, _, counts = fold_users(stale, data.user_ids, data.item_ids, replace(data, matrix=train),
                                      apply_confidence(train), data.user_ids[changed])
    refresh_s = time.perf_counter() - started
    everyone = EvalSet(train, split.test, 50_000, 0)
    only_changed = EvalSet(train[changed], split.test[changed])
    figures: dict[str, Any] = {"users": data.shape[0], "nnz": data.nnz, "changed_users": users, "drop": drop,
                               "factors": factors, "iterations": iterations, "fit_seconds": round(full_s, 1),
                               "refresh_fold_in_seconds": round(refresh_s, 2), **counts}
    for name, model in (("stale", stale), ("refreshed", refreshed), ("retrained", full)):
        figures[f"{name}_ndcg@10"] = round(evaluate(model, everyone)["ndcg@10"], 5)
        sub = ALS.from_arrays(model.arrays())
        sub.user_factors = model.user_factors[changed]
        figures[f"{name}_changed_ndcg@10"] = round(evaluate(sub, only_changed)["ndcg@10"], 5)
    figures["refreshed_vs_retrained"] = round(figures["refreshed_ndcg@10"] / figures["retrained_ndcg@10"] - 1, 4)
    figures["refreshed_vs_retrained_changed"] = round(
        figures["refreshed_changed_ndcg@10"] / figures["retrained_changed_ndcg@10"] - 1, 4)
    _report("refresh-quality", {**figures, "goal": "within 1% NDCG@10", "stale_fit_seconds": round(stale_s, 1)})


@main.command()
@url_option
def segment(database_url: str) -> None:
    """`kitsu-ingest segment-users` on the store (goal: <= 120 s on a quiet machine)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_segment import run_segment

    path = Path(database_url.removeprefix("sqlite:///"))
    _report("segment", run_segment(path, path.parent / "segments", []))


if __name__ == "__main__":
    main()
