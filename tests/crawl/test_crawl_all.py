"""`crawl --all`: every user in id order, resumable; and `--all --since`, the site-wide delta."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kitsu_ingest.cli import main
from kitsu_ingest.crawl import CrawlPlan, CrawlProgress, crawl
from kitsu_ingest.crawl.crawler import WALK_AHEAD
from kitsu_ingest.crawl.delta import DELTA_PAGE, DeltaCursor, read_delta_page
from kitsu_ingest.crawl.ledger import touched_users
from kitsu_ingest.crawl.mapping import parse_time
from kitsu_ingest.emulator import NOW, EmulatorConfig, Population, create_app, ground_truth
from kitsu_ingest.kitsu.jsonapi import Document
from kitsu_ingest.store import CrawlError, CrawlUser

from .conftest import POPULATION, SEED, make_client, run_crawl, snapshot, stored_rows, truth_rows
from .test_crawl import crawled_users

SINCE = datetime(2021, 11, 1)


def everyone() -> list[int]:
    return Population(POPULATION, SEED).user_ids.tolist()


def test_all_crawls_every_user_exactly(store: Engine) -> None:
    summary = run_crawl(store, CrawlPlan(everyone=True))
    users = crawled_users(store)
    assert summary.status == "done" and users == everyone() and summary.users_done == POPULATION
    assert summary.site_users == POPULATION and summary.anomalies == {}
    assert stored_rows(store) == truth_rows(users)
    # Requests: one users page per 19 users (one of overlap), as the walk promises.
    assert summary.as_dict()["requests_per_user"] < 3


def test_all_interrupted_anywhere_resumes_to_the_same_store(store: Engine, tmp_path: Any) -> None:
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    clean = make_engine(f"sqlite:///{tmp_path}/clean.db")
    upgrade(clean)
    run_crawl(clean, CrawlPlan(everyone=True))
    stops = iter([7, 150, 400])
    limit = next(stops)

    def stop(progress: CrawlProgress) -> None:
        if progress.users_done >= limit or progress.users_total >= limit + 60:
            raise KeyboardInterrupt

    resume, runs = False, 0
    while True:
        runs += 1
        try:
            summary = run_crawl(store, CrawlPlan(everyone=True), resume=resume, on_progress=stop)
            break
        except KeyboardInterrupt:
            limit, resume = next(stops, 10**9), True
    assert runs == 4 and summary.status == "done" and summary.users_total == POPULATION
    assert snapshot(store) == snapshot(clean)


def test_the_progress_and_status_come_back_from_the_store(store: Engine, store_url: str) -> None:
    def stop(progress: CrawlProgress) -> None:
        if progress.users_done >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_crawl(store, CrawlPlan(everyone=True), on_progress=stop)
    result = CliRunner().invoke(main, ["crawl", "--status", "--json", "--database-url", store_url])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["status"] == "interrupted" and status["plan"]["everyone"] is True
    assert status["users_by_state"]["done"] >= 100 and status["progress"]["site_users"] == POPULATION
    assert status["progress"]["requests"] > 0 and status["progress"]["eta_seconds"] > 0
    table = CliRunner().invoke(main, ["crawl", "--status", "--database-url", store_url])
    assert table.exit_code == 0 and "crawl --resume" in table.stdout and "every user" in table.stdout


def test_status_of_an_empty_store_is_one_line(store_url: str, store: Engine) -> None:
    result = CliRunner().invoke(main, ["crawl", "--status", "--database-url", store_url])
    assert result.exit_code == 2 and result.stderr.startswith("error: no crawl in this store")


# -- the site-wide delta --------------------------------------------------------------------------


def changed_since(users: list[int], since: datetime) -> set[tuple[Any, ...]]:
    entries, _ = truth_rows(users)
    return {e for e in entries if e[-1] >= since}


def test_a_delta_after_a_full_crawl_stores_exactly_the_changed_entries(store: Engine) -> None:
    run_crawl(store, CrawlPlan(everyone=True))
    before = snapshot(store)
    summary = run_crawl(store, CrawlPlan(everyone=True, since=SINCE))
    changed = changed_since(everyone(), SINCE)
    assert summary.status == "done" and summary.entries == len(changed) > 0
    assert summary.new_users == 0 and summary.delta_users == len({e[1] for e in changed})
    assert summary.delta_pages == len(changed) // DELTA_PAGE + 1
    # The delta's pages, the NSFW entries' anime, and the users pages after the store's last user.
    assert summary.requests <= summary.delta_pages + summary.nsfw_resolved + summary.nsfw_unresolved + WALK_AHEAD
    assert snapshot(store) == before  # nothing changed: the same rows again
    with store.connect() as conn:
        touched = conn.execute(select(func.count()).where(CrawlUser.__table__.c.state == "touched")).scalar_one()
    assert touched == summary.delta_users


def test_a_delta_meets_users_the_store_lacks_and_crawls_them_whole(store: Engine) -> None:
    run_crawl(store, CrawlPlan(sample=40, seed=3))
    sampled = crawled_users(store)
    summary = run_crawl(store, CrawlPlan(everyone=True, since=SINCE))
    owners = {e[1] for e in changed_since(everyone(), SINCE)}
    after = {uid for uid in everyone() if uid > max(sampled)}  # listed after the store's last user
    users = crawled_users(store)
    assert set(users) == set(sampled) | owners | after and summary.new_users == len((owners | after) - set(sampled))
    assert stored_rows(store) == truth_rows(users)


def test_an_api_that_refuses_the_delta_gets_per_user_refreshes(store: Engine) -> None:
    run_crawl(store, CrawlPlan(sample=30, seed=4))
    app = create_app(EmulatorConfig(users=POPULATION, seed=SEED))

    async def refusing(scope: Any, receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode()
        if scope["type"] == "http" and "since" in query and "userId" not in query:
            body = b'{"errors":[{"title":"Filter not allowed","status":"400","code":"102"}]}'
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/vnd.api+json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    async def go() -> CrawlProgress:
        async with make_client(refusing) as client:
            return await crawl(store, client, CrawlPlan(everyone=True, since=SINCE))

    summary = asyncio.run(go())
    users = crawled_users(store)
    assert summary.status == "done" and summary.anomalies == {"delta-refused": 1}
    assert summary.users_done == len(users) == 30 and summary.entries == len(changed_since(users, SINCE))
    with store.connect() as conn:
        kinds = conn.execute(select(CrawlError.__table__.c.kind)).scalars().all()
    assert "delta-refused" in kinds


def test_a_delta_a_day_later_is_exact_but_for_deletions_which_touched_by_catches_up(store: Engine) -> None:
    run_crawl(store, CrawlPlan(everyone=True))
    site = {"day": 1, "churn": 0.05, "growth": 0.02}
    later = Population(POPULATION, SEED, **site)
    summary = run_crawl(store, CrawlPlan(everyone=True, since=datetime(2021, 11, 30)), site=site)
    changed, new_users = later.changed_since(NOW), later.new_user_ids(1).tolist()
    assert summary.status == "done" and summary.new_users == len(new_users) > 0
    assert summary.delta_pages == changed // DELTA_PAGE + 1 and summary.delta_entries == changed
    assert summary.anomalies == {}
    truth, truth_favorites = truth_rows(None, site)
    stored, stored_favorites = stored_rows(store)
    assert stored >= truth and len(stored - truth) == later.deleted_since(1) > 0  # what a delta cannot see
    assert stored_favorites == truth_favorites
    caught_up = run_crawl(store, CrawlPlan(users=touched_users(store, summary.run_id)), site=site)
    assert caught_up.status == "done" and caught_up.users_done == summary.delta_users
    assert stored_rows(store) == (truth, truth_favorites)


def _entry(eid: int, updated: str, user: int = 1) -> dict[str, Any]:
    return {"type": "libraryEntries", "id": str(eid),
            "attributes": {"status": "current", "progress": 1, "updatedAt": updated, "createdAt": updated},
            "relationships": {"user": {"data": {"type": "users", "id": str(user)}},
                              "anime": {"data": {"type": "anime", "id": "1"}}}}


def _page(entries: list[dict[str, Any]], more: bool) -> Document:
    return Document(url="http://x/library-entries", data=entries, links={"next": "http://x/n"} if more else {})


def test_delta_pages_skip_what_was_seen_and_file_what_is_older_than_asked() -> None:
    cursor = DeltaCursor(parse_time("2021-12-01T00:00:00.000Z"))  # type: ignore[arg-type]
    first = read_delta_page(cursor, _page([_entry(5, "2021-12-01T00:00:00.000Z"),
                                           _entry(3, "2021-12-01T00:00:01.000Z"),
                                           _entry(4, "2021-12-01T00:00:01.000Z")], more=True),
                            datetime(2022, 1, 1), set())
    assert [r["id"] for r in first.harvest.entries] == [5, 3, 4] and first.owners == {1: 3}
    assert first.cursor == DeltaCursor(parse_time("2021-12-01T00:00:01.000Z"), 4, 2)  # type: ignore[arg-type]
    # The next page starts at the last time seen: what came already is dropped, an older entry filed.
    assert first.cursor is not None
    second = read_delta_page(first.cursor, _page([_entry(3, "2021-12-01T00:00:01.000Z"),
                                                  _entry(4, "2021-12-01T00:00:01.000Z"),
                                                  _entry(9, "2021-11-01T00:00:00.000Z"),
                                                  _entry(8, "2021-12-03T00:00:00.000Z"),
                                                  _entry(7, "2021-12-02T00:00:00.000Z")], more=False),
                             datetime(2022, 1, 1), set())
    assert [r["id"] for r in second.harvest.entries] == [9, 8, 7] and second.done  # filed, and kept
    assert sorted(e.kind for e in second.anomalies) == ["delta-older-than-asked", "delta-unsorted"]


def test_a_full_page_in_one_millisecond_moves_on_by_offset() -> None:
    stamp = "2021-12-01T00:00:00.000Z"
    cursor = DeltaCursor(parse_time(stamp))  # type: ignore[arg-type]
    page = read_delta_page(cursor, _page([_entry(i, stamp) for i in range(1, DELTA_PAGE + 1)], more=True),
                           datetime(2022, 1, 1), set())
    assert page.cursor is not None and page.cursor.at_since == DELTA_PAGE and page.cursor.offset > 0
    again = read_delta_page(page.cursor, _page([_entry(i, stamp) for i in range(251, 751)], more=True),
                            datetime(2022, 1, 1), set())
    assert [r["id"] for r in again.harvest.entries] == list(range(501, 751))
    assert again.cursor is not None and again.cursor.offset == 750 - 250
    assert ground_truth  # the emulator's truth is what the crawl tests compare against


def test_all_under_faults_and_kills_ends_in_the_fault_free_store(store: Engine, tmp_path: Any) -> None:
    from kitsu_ingest.emulator import FaultConfig
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    clean = make_engine(f"sqlite:///{tmp_path}/clean.db")
    upgrade(clean)
    run_crawl(clean, CrawlPlan(everyone=True))
    faults = FaultConfig(p_5xx=0.10, p_429=0.05, p_hang=0.02, hang_seconds=1.0, p_malformed=0.01,
                         p_drop=0.01, retry_after=False, seed=11)
    kills = iter([30, 200, 450])
    limit = next(kills)

    def kill(progress: CrawlProgress) -> None:
        if progress.users_done >= limit:
            raise KeyboardInterrupt

    runs, resume = 0, False
    while True:
        runs += 1
        assert runs < 12
        try:
            summary = run_crawl(store, CrawlPlan(everyone=True), faults=faults, resume=resume, on_progress=kill,
                                timeout=0.3)
        except KeyboardInterrupt:
            limit, resume = next(kills, 10**9), True
            continue
        if summary.status == "done":
            break
        resume = True
    assert runs >= 4 and summary.users_total == POPULATION
    assert snapshot(store) == snapshot(clean)


def test_all_killed_by_sigkill_then_resumed(store_url: str, tmp_path: Any) -> None:
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    from .test_crawl import _cli, _started

    engine = make_engine(store_url)
    upgrade(engine)
    process, done_users = _started([*_cli(store_url), "--all"], engine, tmp_path)
    killed = process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    done = subprocess.run([*_cli(store_url), "--resume"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    users = crawled_users(engine)
    assert users == everyone() and stored_rows(engine) == truth_rows(users)
    assert killed and 0 < done_users < POPULATION
