"""The store at the site's scale: crawl-style write rate and size as library_entries grows.

    .venv/bin/python bench/bench_store_scale.py                  # SQLite (temp file), to 20,000,000 entries
    .venv/bin/python bench/bench_store_scale.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench_scale
    .venv/bin/python bench/bench_store_scale.py --grow-to 2000000 --step 200000   # a quick look
    .venv/bin/python bench/bench_store_scale.py --ids append     # entry ids in crawl order (B-tree appends)

The store is created fresh with the project's migrations (tables dropped first: never point this at
a store you care about). Library entries are then written as a full crawl writes them: users in id
order, ~53 entries each (64M entries / 1.2M users on Kitsu; lognormal, capped at 1,500) plus a few
favourites, 20 users a harvest, harvests flushed by `write_harvests` once they hold 5,000 rows: one
transaction with the anime not seen yet, the entries, the favourites, each harvest's delete of stale
rows and its users' crawl_users updates. The users' profiles and crawl_users rows are registered
before each step (not timed), as a crawl registers its users before harvesting them.

Kitsu assigns entry ids when users add anime, over the years, so a crawl in user order writes ids
scattered over the whole id range (`--ids scattered`, the default: a golden-ratio walk over 64M ids);
`--ids append` gives ids in crawl order, the best case for the primary key's B-tree.

After each step (`--step` new entries, timed, rows built by generators as in a crawl) comes the update
mix of a delta refresh (timed): `--update-rows` existing entries of random stored users (up to 10 per
user) re-sent with changed fields, with their favourites, by `write_harvests(full=False)` in flushes
of 5,000 rows. Then the store's size: SQLite's file after a WAL checkpoint (TRUNCATE); on PostgreSQL
pg_total_relation_size(library_entries) and pg_database_size. PostgreSQL without autovacuum gets a
VACUUM ANALYZE of the written tables after each step (not timed, shown), as autovacuum would do.
Peak memory is the process's maximum resident set size (ru_maxrss); it stays flat however many rows.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from array import array
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl.fetch import Harvest
from kitsu_ingest.crawl.ledger import Run, register_users
from kitsu_ingest.crawl.writer import write_harvests
from kitsu_ingest.store import make_engine, metadata
from kitsu_ingest.store.migrate import upgrade
from kitsu_ingest.store.models import CrawlRun, LibraryEntry, table

STATUSES = ("completed", "current", "planned", "on_hold", "dropped")
STATUS_WEIGHTS = (55, 15, 20, 4, 6)
ANIME = 20_000  # anime in the catalogue (ids 1, 3, 5, ...)
ID_SPACE = 64_000_000  # the site's entry ids
GOLDEN = 39_554_003  # ~0.618 * ID_SPACE, coprime with it: k -> k * GOLDEN % ID_SPACE is a permutation
EPOCH = datetime(2013, 6, 1)
SECONDS_PER_ID = 4.4  # 64M entries over ~9 years
FLUSH_ROWS = 5000  # kitsu_ingest.crawl.crawler.FLUSH_ROWS
BATCH_USERS = 20  # the crawler's default harvest size
MAX_ENTRIES = 1500  # 20 such users stay under SQLite's 32,766 bound parameters in the stale delete
WRITTEN = ("library_entries", "favorites", "anime", "users", "crawl_users")
Row = dict[str, Any]
COUNTERS = ("life_spent_on_anime", "followers_count", "following_count", "comments_count", "favorites_count",
            "likes_given_count", "likes_received_count", "posts_count", "ratings_count", "reviews_count",
            "media_reactions_count")


class Site:
    """A deterministic synthetic site: user u's rows depend on u alone, so any stored user can be
    generated again (changed) for the update mix. Keeps one int per user: where its entries start."""

    def __init__(self, ids: str) -> None:
        self.scattered = ids == "scattered"
        self.first_entry = array("q", [0])  # first_entry[u]: entries of users before u; one more at the end
        self.fetched_at = datetime(2022, 1, 1)

    @property
    def users(self) -> int:
        return len(self.first_entry) - 1

    @property
    def entries(self) -> int:
        return self.first_entry[-1]

    @staticmethod
    def entry_count(rng: random.Random) -> int:
        # Lognormal with mean exp(3.25 + 1.2**2 / 2) ~ 53 entries a user, Kitsu's average.
        return max(1, min(MAX_ENTRIES, round(rng.lognormvariate(3.25, 1.2))))

    def add_user(self) -> int:
        u = self.users
        self.first_entry.append(self.entries + self.entry_count(random.Random(u)))
        return u

    def entry_id(self, k: int) -> int:
        return (k * GOLDEN % ID_SPACE if self.scattered else k) + 1

    def profile(self, u: int) -> Row:
        counters = {name: (u * 31 + i) % 97 for i, name in enumerate(COUNTERS)}
        created = EPOCH + timedelta(seconds=u * 240)
        return {"id": u + 1, "name": f"user{u}", "slug": f"user-{u}", "location": None, "gender": None,
                "birthday": None, "pro_tier": None, **counters, "created_at": created, "updated_at": created,
                "fetched_at": self.fetched_at}

    def rows(self, u: int, version: int = 0, only: int | None = None) -> tuple[list[Row], list[Row]]:
        """User u's entries and favourites; a later `version` changes the entries' mutable fields;
        `only` keeps that many of its entries, chosen at random (what a delta refresh returns)."""
        rng = random.Random(u)
        n = self.entry_count(rng)
        k0 = self.first_entry[u]
        anime = rng.sample(range(ANIME), n)
        statuses = rng.choices(STATUSES, STATUS_WEIGHTS, k=n)
        fetched = self.fetched_at + timedelta(days=version)
        entries = []
        for j in range(n):
            eid = self.entry_id(k0 + j)
            created = EPOCH + timedelta(seconds=eid * SECONDS_PER_ID)
            updated = created + timedelta(days=rng.randrange(400) + 30 * version)
            status = statuses[j] if version == 0 else STATUSES[(STATUSES.index(statuses[j]) + version) % 5]
            entries.append({
                "id": eid, "user_id": u + 1, "anime_id": 2 * anime[j] + 1, "status": status,
                "progress": rng.randrange(26) + version, "reconsuming": False, "reconsume_count": 0,
                "rating_twenty": rng.randrange(2, 21) if rng.random() < 0.6 else None,
                "started_at": created, "finished_at": updated if status == "completed" else None,
                "progressed_at": updated, "created_at": created, "updated_at": updated, "fetched_at": fetched,
            })
        favourites = [
            {"id": (u + 1) * 32 + r, "user_id": u + 1, "anime_id": 2 * anime[r] + 1, "fav_rank": r,
             "created_at": entries[r]["created_at"], "updated_at": entries[r]["created_at"], "fetched_at": fetched}
            for r in range(min(n, 20, int(rng.expovariate(0.5))))
        ]
        if only is not None and only < n:
            entries = random.Random(u + version).sample(entries, only)
        return entries, favourites



def anime_row(aid: int, fetched_at: datetime) -> Row:
    return {"id": aid, "canonical_title": f"Anime {aid}", "slug": f"anime-{aid}", "subtype": "TV",
            "status": "finished", "start_date": "2010-04-01", "episode_count": 12, "average_rating": 75.5,
            "user_count": 1000, "favorites_count": 10, "popularity_rank": aid, "rating_rank": aid,
            "age_rating": "PG", "nsfw": False, "fetched_at": fetched_at}


def harvests(site: Site, users: Iterator[int], anime_seen: set[int] | None, version: int = 0,
             only: int | None = None) -> Iterator[Harvest]:
    """Harvests of BATCH_USERS users, as the crawler's fetch tasks hand them to its writer."""
    while batch := [u for _, u in zip(range(BATCH_USERS), users)]:
        h = Harvest(user_ids=[u + 1 for u in batch], fetched_at=site.fetched_at)
        for u in batch:
            entries, favourites = site.rows(u, version, only)
            h.entries += entries
            h.favorites += favourites
            h.entries_per_user[u + 1] = len(entries)
            h.favorites_per_user[u + 1] = len(favourites)
        if anime_seen is not None:  # each anime once per crawl, as the crawler's writer does
            for row in h.entries:
                if row["anime_id"] not in anime_seen:
                    anime_seen.add(row["anime_id"])
                    h.anime[row["anime_id"]] = anime_row(row["anime_id"], site.fetched_at)
        yield h


def write(engine: Engine, run: Run, stream: Iterator[Harvest], *, full: bool) -> int:
    """The crawler's writer loop: flush once the pending harvests hold FLUSH_ROWS rows. Returns entries."""
    pending: list[Harvest] = []
    rows = entries = 0
    for h in stream:
        pending.append(h)
        rows += len(h.entries) + len(h.favorites) + 1
        entries += len(h.entries)
        if rows >= FLUSH_ROWS:
            write_harvests(engine, run, pending, [], full=full)
            pending, rows = [], 0
    if pending:
        write_harvests(engine, run, pending, [], full=full)
    return entries


def new_run(engine: Engine, kind: str) -> Run:
    now = datetime.now()
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(table(CrawlRun)).values(started_at=now, heartbeat_at=now, status="running",
                                           base_url="bench", params={"bench": kind}).returning(table(CrawlRun).c.id)
        ).scalar_one()
    return Run(run_id, {}, resumed=False)


def register(engine: Engine, site: Site, run: Run, users: list[int]) -> None:
    for i in range(0, len(users), 5000):
        register_users(engine, run, [site.profile(u) for u in users[i : i + 5000]])


def store_size(engine: Engine, url: str) -> tuple[float, float | None]:
    """(whole store, library_entries with its indexes or None) in MB."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            path = engine.url.database or ""
            return sum(Path(p).stat().st_size for p in (path, path + "-wal") if Path(p).exists()) / 2**20, None
        entries, whole = conn.execute(
            text("SELECT pg_total_relation_size('library_entries'), pg_database_size(current_database())")
        ).one()
        return whole / 2**20, entries / 2**20


def sqlite_breakdown(engine: Engine) -> str:
    """Pages of library_entries and its indexes (dbstat, when SQLite was built with it)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE '%library_entries%' GROUP BY name"
            )).all()
    except Exception as exc:  # no dbstat in this build
        return f"(no dbstat: {str(exc).splitlines()[0]})"
    return ", ".join(f"{name} {size / 2**20:,.0f} MB" for name, size in rows)


def maintenance(engine: Engine) -> float:
    """PostgreSQL without autovacuum: what autovacuum would do (VACUUM ANALYZE). Seconds taken."""
    if engine.dialect.name != "postgresql":
        return 0.0
    with engine.connect() as conn:
        if conn.execute(text("SHOW autovacuum")).scalar_one() == "on":
            return 0.0
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in WRITTEN:
            conn.execute(text(f"VACUUM ANALYZE {name}"))
    return time.perf_counter() - started


def settings(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            version = conn.execute(text("SELECT sqlite_version()")).scalar_one()
            pragmas = [f"{p}={conn.execute(text(f'PRAGMA {p}')).scalar_one()}"
                       for p in ("journal_mode", "synchronous", "cache_size", "page_size")]
            return f"SQLite {version}, " + ", ".join(pragmas)
        version = conn.execute(text("SHOW server_version")).scalar_one()
        shown = [f"{p}={conn.execute(text(f'SHOW {p}')).scalar_one()}"
                 for p in ("shared_buffers", "max_wal_size", "synchronous_commit", "autovacuum")]
        return f"PostgreSQL {version}, " + ", ".join(shown)


def pick_users(site: Site, rng: random.Random, rows: int) -> list[int]:
    """The delta refresh's users: random stored users until their changed entries (up to 10 each) make `rows`."""
    chosen: set[int] = set()
    while rows > 0 and len(chosen) < site.users:
        u = rng.randrange(site.users)
        if u not in chosen:
            chosen.add(u)
            rows -= min(10, site.first_entry[u + 1] - site.first_entry[u])
    return sorted(chosen)  # a crawl takes its users in id order


def cpu_seconds(engine: Engine) -> float:
    """CPU time of this process (SQLite works in it) and of the server processes serving this
    database when PostgreSQL runs on this machine (from /proc): on a busy machine, rows per CPU
    second compare where rows per second do not."""
    total = time.process_time()
    if engine.dialect.name == "postgresql" and engine.url.host in (None, "", "localhost", "127.0.0.1", "::1"):
        with engine.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
            for pid in pids.scalars():
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def timed_write(engine: Engine, run: Run, stream: Iterator[Harvest], *, full: bool) -> tuple[float, float]:
    """`write`'s entries per second and per CPU second."""
    wall, cpu = time.perf_counter(), cpu_seconds(engine)
    rows = write(engine, run, stream, full=full)
    return rows / (time.perf_counter() - wall), rows / (cpu_seconds(engine) - cpu)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp folder")
    parser.add_argument("--grow-to", type=int, default=20_000_000, help="library entries at the end")
    parser.add_argument("--step", type=int, default=1_000_000, help="new entries between measurements")
    parser.add_argument("--update-rows", type=int, default=100_000, help="entries re-sent by each update mix")
    parser.add_argument("--ids", choices=("scattered", "append"), default="scattered")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.ids == "scattered" and args.grow_to > ID_SPACE:
        parser.error(f"--ids scattered holds at most {ID_SPACE:,} entries")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/scale.db"
        engine = make_engine(url)
        with engine.begin() as conn:
            metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(engine)
        print(f"{settings(engine)}; ids {args.ids}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
        site, rng = Site(args.ids), random.Random(args.seed)
        anime_seen: set[int] = set()
        crawl, delta = new_run(engine, "crawl"), new_run(engine, "delta")
        print(f"{'entries':>12} {'new/s':>7} {'new/cpu-s':>9} {'update/s':>8} {'upd/cpu-s':>9} "
              f"{'store MB':>8} {'MB/M':>5} {'entries MB':>10} {'MB/M':>5} {'maint s':>7} {'RSS MB':>6} {'load':>4}",
              flush=True)
        while site.entries < args.grow_to:
            target = min(args.grow_to, site.entries + args.step)
            first = site.users
            while site.entries < target:
                site.add_user()
            register(engine, site, crawl, list(range(first, site.users)))
            grow = timed_write(engine, crawl, harvests(site, iter(range(first, site.users)), anime_seen), full=True)

            picked = pick_users(site, rng, args.update_rows)
            register(engine, site, delta, picked)
            version = site.entries // args.step  # each step's refresh changes the rows again
            update = timed_write(engine, delta, harvests(site, iter(picked), None, version, only=10), full=False)

            maint = maintenance(engine)
            whole, entries_mb = store_size(engine, url)
            per_m = 1e6 / site.entries
            table_cols = f"{entries_mb:>10,.0f} {entries_mb * per_m:>5.0f}" if entries_mb else f"{'-':>10} {'-':>5}"
            print(f"{site.entries:>12,} {grow[0]:>7,.0f} {grow[1]:>9,.0f} {update[0]:>8,.0f} {update[1]:>9,.0f} "
                  f"{whole:>8,.0f} {whole * per_m:>5.0f} {table_cols} {maint:>7.1f} {max_rss_mb():>6.0f} "
                  f"{os.getloadavg()[0]:>4.1f}", flush=True)
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(table(LibraryEntry))).scalar_one()
        assert stored == site.entries, (stored, site.entries)
        if engine.dialect.name == "sqlite":
            print(f"library_entries pages: {sqlite_breakdown(engine)}")
        print(f"{engine.dialect.name}: {stored:,} entries of {site.users:,} users ({stored / site.users:.1f} each); "
              f"wall time {(time.perf_counter() - began) / 60:.1f} min; peak RSS {max_rss_mb():.0f} MB", flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
