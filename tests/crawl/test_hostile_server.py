"""`kitsu-ingest crawl` against the emulator served on loopback behind a trap (tests/kitsu/hostile):
redirect loops, redirects to another host, gzip bombs, a Retry-After of days, a users page that
keeps failing. None ends in a traceback: the batch fails (or the crawl stops) in one line naming
`--resume`, and `--resume` finishes the crawl once the server behaves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from kitsu_ingest.cli import main
from kitsu_ingest.emulator import EmulatorConfig, create_app
from kitsu_ingest.store import CrawlRun, make_engine
from kitsu_ingest.store.migrate import upgrade
from tests.kitsu.hostile import Trap, Trapped, gzip_bomb, loopback, respond

from .conftest import POPULATION, SEED, stored_rows, truth_rows

USERS = [1, 2, 3]


def redirect_loop(scope: Any, send: Any) -> Any:
    return respond(send, 302, headers=[(b"location", scope["path"].encode() + b"?" + scope["query_string"])])


def redirect_elsewhere(scope: Any, send: Any) -> Any:
    port = scope["server"][1]
    return respond(send, 302, headers=[(b"location", f"http://localhost:{port}{scope['path']}".encode())])


def bomb(scope: Any, send: Any) -> Any:
    return respond(send, 200, BOMB, [(b"content-type", b"application/vnd.api+json"), (b"content-encoding", b"gzip")])


def retry_after_days(scope: Any, send: Any) -> Any:
    return respond(send, 429, b"slow down", [(b"retry-after", b"999999")])


def unavailable(scope: Any, send: Any) -> Any:
    return respond(send, 503, b"upstream down")


BOMB = gzip_bomb(2**28)  # 256 MiB of zeros in 256 KiB


@pytest.fixture(scope="module")
def emulator() -> Any:
    return create_app(EmulatorConfig(users=POPULATION, seed=SEED))


@pytest.fixture(scope="module")
def small_site() -> Any:
    return create_app(EmulatorConfig(users=100, seed=SEED))


@pytest.fixture
def db(tmp_path: Any) -> str:
    url = f"sqlite:///{tmp_path}/hostile.db"
    upgrade(make_engine(url))
    return url


@pytest.fixture
def serve(emulator: Any) -> Iterator[Any]:
    """serve(trap, paths, when, site) -> (the trapped app, its API root on loopback)."""
    with_servers: list[Any] = []

    def start(trap: Trap, paths: tuple[str, ...] = ("/api/edge/library-entries",),
              when: Any = lambda scope: True, site: Any = emulator) -> tuple[Trapped, str]:
        app = Trapped(site, trap, paths, when)
        server = loopback(app)
        with_servers.append(server)
        return app, f"{server.__enter__()}/api/edge"

    yield start
    for server in with_servers:
        server.__exit__(None, None, None)


def crawl(db: str, base: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["crawl", *args, "--base-url", base, "--rate", "0", "--max-attempts", "2",
                                     "--quiet", "--database-url", db])


def status(db: str) -> list[str]:
    with make_engine(db).connect() as conn:
        return list(conn.execute(select(CrawlRun.__table__.c.status).order_by(CrawlRun.__table__.c.id)).scalars())


@pytest.mark.parametrize("trap", [redirect_loop, redirect_elsewhere, bomb], ids=lambda trap: trap.__name__)
def test_a_batch_the_server_traps_fails_and_resumes(db: str, serve: Any, trap: Trap) -> None:
    app, base = serve(trap)
    failed = crawl(db, base, "--users", ",".join(map(str, USERS)))
    assert failed.exit_code == 1 and "Traceback" not in failed.output, failed.output
    assert f"{len(USERS)} users failed: run `kitsu-ingest crawl --resume` to retry them." in failed.stdout
    assert set(app.hosts) == {base.removeprefix("http://").removesuffix("/api/edge")}  # never localhost
    app.on = False
    resumed = crawl(db, base, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert stored_rows(make_engine(db)) == truth_rows(USERS) and status(db) == ["done"]


def test_a_retry_after_of_days_stops_the_crawl_in_one_line(db: str, serve: Any) -> None:
    app, base = serve(retry_after_days)
    stopped = crawl(db, base, "--users", ",".join(map(str, USERS)))
    assert stopped.exit_code == 2 and stopped.stderr.count("\n") == 1, stopped.output
    assert "asks to wait 999,999 s (Retry-After)" in stopped.stderr and "crawl --resume" in stopped.stderr
    assert status(db) == ["interrupted"]
    app.on = False
    assert crawl(db, base, "--resume").exit_code == 0 and status(db) == ["done"]
    assert stored_rows(make_engine(db)) == truth_rows(USERS)


def test_all_stopped_by_a_users_page_names_resume(db: str, serve: Any, small_site: Any) -> None:
    def third_page(scope: Any) -> bool:
        return b"page%5Boffset%5D=38" in scope["query_string"]

    app, base = serve(unavailable, ("/api/edge/users",), third_page, small_site)
    stopped = crawl(db, base, "--all")
    assert stopped.exit_code == 2 and stopped.stderr.count("\n") == 1, stopped.output
    assert "HTTP 503" in stopped.stderr and "`kitsu-ingest crawl --resume` goes on from there" in stopped.stderr
    assert status(db) == ["interrupted"]
    app.on = False
    resumed = crawl(db, base, "--resume", "--json")
    assert resumed.exit_code == 0 and status(db) == ["done"] and '"users_done": 100' in resumed.stdout
