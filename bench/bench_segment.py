"""`kitsu-ingest segment-users` at scale: build an N-user store, then time the command end to end.

    .venv/bin/python bench/bench_segment.py --users 10000 100000 1000000     # stores in /tmp
    .venv/bin/python bench/bench_segment.py --users 100000 --keep            # keep the store

The store is generated with the emulator's distributions, vectorised (the emulator itself makes a
user in about half a millisecond: 10 minutes for a million): its user ids and catalogue, the same
library-length mixture (30% empty, 25% casual, 45% log-normal active; 1.6x draws, first n distinct),
taste vectors ~ Dirichlet(0.12) over 24 groups, anime drawn from the taste group (6% from the whole
catalogue) by userCount^0.7, per-user status mixes ~ Dirichlet(2.2 x MAL mix), the emulator's
progress, rating and favourite rules for the counters, and anime favourites drawn among watched
entries. Left out: NSFW opt-ins, private entries, dates (NULL). Rows are written with sqlite3's
executemany, the two library indexes dropped during the load and rebuilt after (the schema ends as
`db upgrade` makes it).
Then `kitsu-ingest segment-users --k 2..12 --json` runs in a child process; its wall time and
peak RSS (ru_maxrss of the child) are reported and appended to bench/out/segment.json, with the
1-minute load average before and after (the machine is shared: other work inflates the times).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from kitsu_ingest.emulator.catalogue import CATEGORIES, N_TASTES, load_calibration
from kitsu_ingest.emulator.population import STATUSES, Population
from kitsu_ingest.store import make_engine
from kitsu_ingest.store.migrate import upgrade

OUT = Path(__file__).resolve().parent / "out" / "segment.json"
FETCHED = "2021-11-30 00:00:00.000000"
BLOCK = 20_000  # users generated at a time
_LIB_INDEXES = (("ix_library_entries_user_id_anime_id", "library_entries(user_id, anime_id)"),
                ("ix_library_entries_anime_id", "library_entries(anime_id)"))


def _pick_rows(cum: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each entry (its user row), a category drawn from that user's cumulative distribution."""
    u = rng.random(len(rows))[:, None]
    return np.minimum((cum[rows] < u).sum(axis=1), cum.shape[1] - 1)


def generate_block(pop: Population, uids: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Users `uids`: counters, library entries (user, anime index, status, progress), favourites."""
    cat, cal = pop.catalogue, load_calibration()["libraries"]
    n = len(uids)
    kind = rng.random(n)
    active = np.clip(rng.lognormal(cal["active_length_log_mean"] - 0.3, cal["active_length_log_sd"], n),
                     16, 4000).astype(np.int64)
    length = np.where(kind < 0.30, 0, np.where(kind < 0.55, np.minimum(rng.geometric(0.25, n), 15), active))
    taste = np.cumsum(rng.dirichlet(np.full(N_TASTES, 0.12), n), axis=1)
    mix = np.array([cal["status_mix"][s] for s in STATUSES]) * cal["status_concentration"]
    status_cum = np.cumsum(rng.dirichlet(mix, n), axis=1)
    rows = np.repeat(np.arange(n), (length * 1.6).astype(np.int64) + np.where(length > 0, 8, 0))
    groups = _pick_rows(taste, rows, rng)
    mainstream = rng.random(len(rows)) < 0.06
    lo = np.where(mainstream, 0.0, pop._group_lo[groups])
    span = np.where(mainstream, pop._cum[-1], pop._group_sum[groups])
    pos = np.minimum(np.searchsorted(pop._cum, lo + rng.random(len(rows)) * span, side="right"),
                     len(pop._cum) - 1)
    anime = pop._order[pos].astype(np.int64)
    _, first = np.unique(rows * 65536 + anime, return_index=True)  # no anime twice in a library
    first.sort()
    rows, anime = rows[first], anime[first]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    rows, anime = rows[rank < length[rows]], anime[rank < length[rows]]  # the first `length` drawn
    status = _pick_rows(status_cum, rows, rng).astype(np.int8)
    eps = cat.episode_count[anime].astype(np.int64)
    frac = rng.random(len(rows))
    progress = np.select([status == 0, status == 1, status == 4],
                         [eps, 0, np.maximum(1, (frac * eps / 2).astype(np.int64))],
                         np.minimum(np.maximum(1, (frac * eps).astype(np.int64)), np.maximum(eps - 1, 1)))
    rated = (rng.random(len(rows)) < rng.beta(1.2, 1.5, n)[rows]) & (status != 1)
    life = np.bincount(rows, weights=progress * cat.episode_length[anime], minlength=n).astype(np.int64)
    ratings = np.bincount(rows, weights=rated, minlength=n).astype(np.int64)
    watched = np.bincount(rows, weights=np.isin(status, (0, 2, 3)), minlength=n)
    fav_n = np.where(rng.random(n) < 0.5, 0, rng.poisson(rng.gamma(0.8, size=n) * watched ** 0.55))
    fav_n = np.minimum(fav_n, np.minimum(watched, 60)).astype(np.int64)
    # anime favourites: the first fav_n watched entries of a random order within each user
    is_watched = np.isin(status, (0, 2, 3))
    key = rows * 2.0 + rng.random(len(rows))
    order = np.lexsort((key, ~is_watched, rows))
    start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])[:-1]
    rank = np.empty(len(rows), np.int64)
    rank[order] = np.arange(len(rows)) - start[rows[order]]
    fav = is_watched & (rank < fav_n[rows])
    extra = rng.poisson(0.85 * fav_n)  # manga, characters, people: counted, not stored
    return {"uids": uids, "life": life, "ratings": ratings, "favorites": fav_n + extra,
            "rows": rows, "anime": cat.ids[anime], "status": status, "progress": progress,
            "fav_rows": rows[fav], "fav_anime": cat.ids[anime[fav]], "fav_rank": rank[fav]}


def build_store(path: Path, users: int, seed: int = 7) -> dict[str, int]:
    """A fresh SQLite store at `path` with `users` generated users; returns what went in."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    pop = Population(users, seed)
    cat = pop.catalogue
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    for name, _ in _LIB_INDEXES:
        con.execute(f"DROP INDEX {name}")
    rng = np.random.default_rng(seed)
    counts = {"users": 0, "library_entries": 0, "favorites": 0}
    zeros = (0,) * 8
    for start in range(0, users, BLOCK):
        b = generate_block(pop, pop.user_ids[start:start + BLOCK], rng)
        con.executemany(
            "INSERT INTO users (id, life_spent_on_anime, ratings_count, favorites_count, followers_count,"
            " following_count, comments_count, likes_given_count, likes_received_count, posts_count,"
            " reviews_count, media_reactions_count, fetched_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ((u, lf, r, f, *zeros, FETCHED) for u, lf, r, f in zip(
                b["uids"].tolist(), b["life"].tolist(), b["ratings"].tolist(), b["favorites"].tolist())))
        uid = b["uids"][b["rows"]]
        k = np.arange(len(uid)) - np.searchsorted(b["rows"], b["rows"]) + 1
        con.executemany(
            "INSERT INTO library_entries (id, user_id, anime_id, status, progress, reconsuming,"
            " reconsume_count, fetched_at) VALUES (?,?,?,?,?,0,0,?)",
            zip((uid * 5000 + k).tolist(), uid.tolist(), b["anime"].tolist(),
                [STATUSES[s] for s in b["status"].tolist()], b["progress"].tolist(),
                [FETCHED] * len(uid)))
        fuid = b["uids"][b["fav_rows"]]
        con.executemany(
            "INSERT INTO favorites (id, user_id, anime_id, fav_rank, fetched_at) VALUES (?,?,?,?,?)",
            zip((fuid * 100 + b["fav_rank"] + 1).tolist(), fuid.tolist(), b["fav_anime"].tolist(),
                b["fav_rank"].tolist(), [FETCHED] * len(fuid)))
        con.commit()
        counts["users"] += len(b["uids"])
        counts["library_entries"] += len(uid)
        counts["favorites"] += len(fuid)
        print(f"  {counts['users']:,} users, {counts['library_entries']:,} entries", file=sys.stderr)
    titles = dict(CATEGORIES)
    con.executemany(
        "INSERT INTO anime (id, canonical_title, subtype, user_count, favorites_count, nsfw,"
        " categories, fetched_at) VALUES (?,?,?,?,?,?,?,?)",
        ((int(cat.ids[i]), cat.titles[i], cat.subtypes[i], int(cat.user_count[i]),
          int(cat.favorites_count[i]), bool(cat.nsfw[i]),
          json.dumps([titles[c] for c in cat.categories[i]]), FETCHED) for i in range(len(cat))))
    for name, spec in _LIB_INDEXES:
        con.execute(f"CREATE INDEX {name} ON {spec}")
    con.commit()
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    counts["anime"] = len(cat)
    counts["store_mb"] = round(path.stat().st_size / 2**20)
    return counts


def run_segment(path: Path, out_dir: Path, extra: list[str]) -> dict[str, object]:
    """Run the command in a child process; wall time, the child's peak RSS and its JSON report."""
    cmd = [str(Path(sys.executable).parent / "kitsu-ingest"), "segment-users", "--database-url",
           f"sqlite:///{path}", "--k", "2..12", "--out-dir", str(out_dir), "--json", *extra]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"segment-users failed: {done.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(done.stdout)
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak), "stages": report["seconds"],
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "k": report["k"], "clustered": report["clustered"], "entries": report["entries"],
            "tiers": report["tiers"], "excluded": report["excluded"],
            "sweep": report["sweep"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/kitsu-bench-segment"))
    parser.add_argument("--keep", action="store_true", help="Keep the stores afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a store already built.")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--features", default="svd")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for users in args.users:
        path = args.dir / f"segment-{users}.db"
        meta = path.with_suffix(".json")
        if args.reuse and meta.exists():
            built = json.loads(meta.read_text())
        else:
            started = time.perf_counter()
            built = build_store(path, users)
            built["build_seconds"] = round(time.perf_counter() - started)
            meta.write_text(json.dumps(built))
        print(f"store: {built}", file=sys.stderr)
        if args.build_only:
            continue
        result = {"users": users, "store": built,
                  **run_segment(path, args.dir / f"plots-{users}", ["--features", args.features])}
        result["features"] = args.features
        print(json.dumps({k: v for k, v in result.items() if k != "sweep"}))
        history = json.loads(OUT.read_text()) if OUT.exists() else []
        OUT.write_text(json.dumps([*history, result], indent=1))
        if not args.keep:
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), meta):
                p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
