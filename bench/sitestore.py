"""A whole-site store, generated vectorised (not crawled) with the emulator's distributions.

    .venv/bin/python bench/sitestore.py --users 1200000 --library-scale 0.27 \
        --database-url sqlite:////tmp/kitsu-site/site.db          # or postgresql+psycopg://...

The emulator itself makes a user in about half a millisecond (10 minutes for a million); this
builds the same population vectorised: its user ids and catalogue, the same library-length
mixture (30% empty, 25% casual, 45% log-normal active; 1.6x draws, first n distinct), taste
vectors ~ Dirichlet(0.12) over 24 groups, anime drawn from the taste group (6% from the whole
catalogue) by userCount^0.7, per-user status mixes ~ Dirichlet(2.2 x MAL mix), the emulator's
progress, rating and favourite rules for the counters, and anime favourites drawn among watched
entries. Left out: NSFW opt-ins, private entries, dates (NULL).

`library_scale` multiplies the active users' library lengths: at 1.0 the emulator's mixture gives
about 185 entries a user (222M at 1.2M users); Kitsu itself has about 64M anime library entries
for 1.2M users (issue 11), which 0.27 approaches. The schema is the one `db upgrade` makes; the two
library indexes are dropped during the load and rebuilt after. SQLite is loaded with executemany,
PostgreSQL with COPY.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kitsu_ingest.emulator.catalogue import CATEGORIES, N_TASTES, load_calibration
from kitsu_ingest.emulator.population import STATUSES, Population
from kitsu_ingest.store import make_engine
from kitsu_ingest.store.engine import parse_database_url
from kitsu_ingest.store.migrate import upgrade

FETCHED = "2021-11-30 00:00:00.000000"
BLOCK = 20_000  # users generated at a time
_LIB_INDEXES = (("ix_library_entries_user_id_anime_id", "library_entries(user_id, anime_id)"),
                ("ix_library_entries_anime_id", "library_entries(anime_id)"))
_USER_COLUMNS = ("id, life_spent_on_anime, ratings_count, favorites_count, followers_count, following_count, "
                 "comments_count, likes_given_count, likes_received_count, posts_count, reviews_count, "
                 "media_reactions_count, fetched_at")
_ENTRY_COLUMNS = "id, user_id, anime_id, status, progress, reconsuming, reconsume_count, fetched_at"
_FAVORITE_COLUMNS = "id, user_id, anime_id, fav_rank, fetched_at"
_ANIME_COLUMNS = "id, canonical_title, subtype, user_count, favorites_count, nsfw, categories, fetched_at"


def _pick_rows(cum: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each entry (its user row), a category drawn from that user's cumulative distribution."""
    u = rng.random(len(rows))[:, None]
    return np.minimum((cum[rows] < u).sum(axis=1), cum.shape[1] - 1)


def generate_block(pop: Population, uids: np.ndarray, rng: np.random.Generator,
                   library_scale: float = 1.0) -> dict[str, np.ndarray]:
    """Users `uids`: counters, library entries (user, anime index, status, progress), favourites."""
    cat, cal = pop.catalogue, load_calibration()["libraries"]
    n = len(uids)
    kind = rng.random(n)
    active = np.clip(library_scale * rng.lognormal(cal["active_length_log_mean"] - 0.3,
                                                   cal["active_length_log_sd"], n), 16, 4000).astype(np.int64)
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


def _tables(pop: Population, users: int, seed: int, library_scale: float) -> Iterator[dict[str, list[tuple]]]:
    """The users, library entries and favourites of each block of users, as rows."""
    rng = np.random.default_rng(seed)
    zeros = (0,) * 8
    for start in range(0, users, BLOCK):
        b = generate_block(pop, pop.user_ids[start:start + BLOCK], rng, library_scale)
        uid = b["uids"][b["rows"]]
        k = np.arange(len(uid)) - np.searchsorted(b["rows"], b["rows"]) + 1
        fuid = b["uids"][b["fav_rows"]]
        yield {
            "users": [(u, lf, r, f, *zeros, FETCHED) for u, lf, r, f in zip(
                b["uids"].tolist(), b["life"].tolist(), b["ratings"].tolist(), b["favorites"].tolist())],
            "library_entries": list(zip((uid * 5000 + k).tolist(), uid.tolist(), b["anime"].tolist(),
                                        [STATUSES[s] for s in b["status"].tolist()], b["progress"].tolist(),
                                        [0] * len(uid), [0] * len(uid), [FETCHED] * len(uid))),
            "favorites": list(zip((fuid * 100 + b["fav_rank"] + 1).tolist(), fuid.tolist(),
                                  b["fav_anime"].tolist(), b["fav_rank"].tolist(), [FETCHED] * len(fuid))),
        }


def _anime_rows(pop: Population) -> list[tuple]:
    cat, titles = pop.catalogue, dict(CATEGORIES)
    return [(int(cat.ids[i]), cat.titles[i], cat.subtypes[i], int(cat.user_count[i]), int(cat.favorites_count[i]),
             bool(cat.nsfw[i]), json.dumps([titles[c] for c in cat.categories[i]]), FETCHED)
            for i in range(len(cat))]


def _columns(table: str) -> str:
    return {"users": _USER_COLUMNS, "library_entries": _ENTRY_COLUMNS, "favorites": _FAVORITE_COLUMNS,
            "anime": _ANIME_COLUMNS}[table]


def _copy_text(rows: list[tuple]) -> bytes:
    """Rows in COPY's text format (none of these values holds a tab, a newline or a backslash)."""
    return "".join("\t".join("\\N" if v is None else str(v) for v in row) + "\n" for row in rows).encode()


def build_store(url: str, users: int, seed: int = 7, library_scale: float = 1.0) -> dict[str, int]:
    """A fresh store at `url` (SQLite or PostgreSQL) with `users` generated users; returns what went in."""
    parsed = parse_database_url(url)
    postgres = parsed.get_backend_name() == "postgresql"
    if postgres:
        engine = make_engine(parsed)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        path = Path(parsed.database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = make_engine(parsed)
    upgrade(engine)
    engine.dispose()
    pop = Population(users, seed)
    counts = {"users": 0, "library_entries": 0, "favorites": 0}
    if postgres:
        import psycopg

        con = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
        for name, _ in _LIB_INDEXES:
            con.execute(f"DROP INDEX {name}")

        def insert(table: str, rows: list[tuple]) -> None:
            with con.cursor().copy(f"COPY {table} ({_columns(table)}) FROM STDIN") as copy:
                for start in range(0, len(rows), 200_000):
                    copy.write(_copy_text(rows[start:start + 200_000]))
    else:
        con = sqlite3.connect(parsed.database or "")
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        for name, _ in _LIB_INDEXES:
            con.execute(f"DROP INDEX {name}")

        def insert(table: str, rows: list[tuple]) -> None:
            marks = ",".join("?" * len(rows[0])) if rows else ""
            con.executemany(f"INSERT INTO {table} ({_columns(table)}) VALUES ({marks})", rows)

    for block in _tables(pop, users, seed, library_scale):
        for table, rows in block.items():
            if rows:
                insert(table, rows)
            counts[table] += len(rows)
        con.commit()
        print(f"  {counts['users']:,} users, {counts['library_entries']:,} entries", file=sys.stderr)
    anime = _anime_rows(pop)
    if postgres:  # titles and JSON may hold backslashes: parameters, not COPY text
        con.cursor().executemany(f"INSERT INTO anime ({_ANIME_COLUMNS}) VALUES ({','.join(['%s'] * 8)})", anime)
    else:
        insert("anime", anime)
    for name, spec in _LIB_INDEXES:
        con.execute(f"CREATE INDEX {name} ON {spec}")
    con.commit()
    if postgres:
        con.execute("ANALYZE")
        con.commit()
    else:
        con.execute("PRAGMA journal_mode=WAL")
    con.close()
    counts["anime"] = len(pop.catalogue)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_200_000)
    parser.add_argument("--library-scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    built = build_store(args.database_url, args.users, args.seed, args.library_scale)
    built["build_seconds"] = round(time.perf_counter() - started)
    print(json.dumps(built))


if __name__ == "__main__":
    main()
