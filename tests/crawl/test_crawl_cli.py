from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from kitsu_ingest.cli import main
from kitsu_ingest.crawl.ledger import utcnow
from kitsu_ingest.crawl.lock import try_lock
from kitsu_ingest.store import CrawlRun, make_engine
from kitsu_ingest.store import engine as engine_module
from kitsu_ingest.store.migrate import upgrade

EMULATOR = ["--emulator", "--emulator-users", "600", "--emulator-seed", "3", "--rate", "0"]


@pytest.fixture
def db(tmp_path) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/crawl.db"
    upgrade(make_engine(url))
    return url


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["crawl", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("value", ["0", "-5", "abc"])
def test_bad_sample_sizes(db: str, value: str) -> None:
    code, _, err = invoke("--sample", value, "--database-url", db, *EMULATOR)
    assert code == 2 and "--sample" in err and "Traceback" not in err


def test_nothing_to_do_and_conflicting_modes(db: str) -> None:
    code, _, err = invoke("--database-url", db)
    assert code == 2 and "say what to crawl" in err
    code, _, err = invoke("--sample", "5", "--users", "1", "--database-url", db)
    assert code == 2 and "choose one of" in err
    code, _, err = invoke("--users", "12,abc", "--database-url", db)
    assert code == 2 and "user ids" in err


def test_unreachable_base_url_says_how_to_go_offline(db: str) -> None:
    code, _, err = invoke("--sample", "5", "--database-url", db, "--base-url", "http://127.0.0.1:1/api/edge")
    assert code == 2
    assert err.count("\n") == 1 and "http://127.0.0.1:1/api/edge" in err and "--emulator" in err


def test_json_summary_and_a_busy_store(db: str) -> None:
    code, out, _ = invoke("--sample", "10", "--database-url", db, "--json", *EMULATOR)
    summary = json.loads(out)
    assert code == 0 and summary["status"] == "done" and summary["users_done"] == 10
    assert summary["requests"] > 0 and summary["entries"] > 0
    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(update(CrawlRun.__table__).values(status="running", heartbeat_at=utcnow()))
    live = try_lock(engine)  # a live crawl holds the store's lock
    assert live is not None
    try:
        code, _, err = invoke("--sample", "10", "--database-url", db, *EMULATOR)
    finally:
        live.release()
    assert code == 2 and "another crawl (run 1, pid " in err and err.count("\n") == 1


def test_full_disk_stops_cleanly_and_resumes(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(db)
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
    full = (*engine_module._SQLITE_PRAGMAS, f"PRAGMA max_page_count={pages + 40}")
    monkeypatch.setattr(engine_module, "_SQLITE_PRAGMAS", full)
    code, _, err = invoke("--sample", "60", "--database-url", db, "--quiet", *EMULATOR)
    assert code == 2 and "disk full" in err and "Traceback" not in err
    monkeypatch.undo()
    code, out, _ = invoke("--resume", "--database-url", db, "--json", *EMULATOR)
    assert code == 0 and json.loads(out)["users_total"] == 60
    with make_engine(db).connect() as conn:
        assert conn.execute(select(CrawlRun.__table__.c.status)).scalar_one() == "done"


def _runs(db: str) -> list[tuple[int, str]]:
    runs = CrawlRun.__table__
    with make_engine(db).connect() as conn:
        return [tuple(r) for r in conn.execute(select(runs.c.id, runs.c.status).order_by(runs.c.id))]


@pytest.mark.parametrize("ids", ["99999999999999999999", "5,9223372036854775808", "0", "-1,2"])
def test_ids_outside_the_id_type_are_refused_before_any_run_is_stored(db: str, ids: str) -> None:
    code, _, err = invoke("--users", ids, "--database-url", db, *EMULATOR)
    assert code == 2 and "Traceback" not in err
    assert "user ids are whole numbers from 1 to 9223372036854775807" in err
    assert _runs(db) == []
    code, _, err = invoke("--resume", "--database-url", db, *EMULATOR)
    assert code == 2 and "nothing to resume" in err


@pytest.mark.parametrize(("args", "needle"), [
    (["--since", "0001-01-01T00:00:00+01:00"], "out of range once converted to UTC"),
    (["--since", "9999-12-31T23:59:59-01:00"], "out of range once converted to UTC"),
    (["--since", "yesterday"], "is not a date"),
    (["--since", "2999-01-01"], "is in the future (UTC): nothing can have changed since then"),
    (["--all", "--since", "2999-01-01T00:00:00+14:00"], "is in the future"),
    (["--users", "1", "--rate", "inf"], "not a finite number"),
    (["--users", "1", "--rate", "nan"], "not a finite number"),
    (["--users", "1", "--timeout", "nan"], "not a finite number"),
    (["--users", "1", "--emulator-seed", "-1"], "--emulator-seed"),
    (["--users", "1", "--emulator-users", "1000000000000"], "1 to 100,000,000 users"),
])
def test_bad_values_get_one_error_and_exit_2(db: str, args: list[str], needle: str) -> None:
    code, _, err = invoke(*args, "--database-url", db, "--emulator")
    assert code == 2 and needle in err and "Traceback" not in err
    assert _runs(db) == []


def test_resume_refuses_since(db: str) -> None:
    code, _, err = invoke("--resume", "--since", "2024-01-01", "--database-url", db, *EMULATOR)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: --resume finishes the unfinished crawl") and "--since" in err


def test_bad_user_agent_and_env_file_are_one_line(db: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KITSU_USER_AGENT", "kitsu-récs (+https://example.org)")
    code, _, err = invoke("--users", "1", "--database-url", db, *EMULATOR)
    assert code == 2 and err.count("\n") == 1
    assert "invalid setting KITSU_USER_AGENT: use printable ASCII only" in err
    monkeypatch.delenv("KITSU_USER_AGENT")
    (tmp_path / ".env").write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe binary")
    code, _, err = invoke("--users", "1", "--database-url", db, *EMULATOR)
    assert code == 2 and err.count("\n") == 1 and ".env is not UTF-8 text" in err
    assert _runs(db) == []


def test_whole_site_options_refuse_what_cannot_work(db: str) -> None:
    code, _, err = invoke("--all", "--sample", "5", "--database-url", db, *EMULATOR)
    assert code == 2 and "choose one of" in err and "--all" in err
    code, _, err = invoke("--touched-by", "7", "--database-url", db, *EMULATOR)
    assert code == 2 and err.startswith("error: crawl run 7 touched no users")
    code, _, err = invoke("--status", "--since", "2021-01-01", "--database-url", db)
    assert code == 2 and "--status only reads the store" in err
    code, _, err = invoke("--all", "--emulator-day", "1", "--database-url", db)
    assert code == 2 and "add --emulator" in err


def test_a_delta_on_an_emulated_day_says_what_it_cannot_see(db: str) -> None:
    code, out, err = invoke("--all", "--database-url", db, *EMULATOR)
    assert code == 0, err
    code, out, err = invoke("--all", "--since", "2021-11-30", "--emulator-day", "1", "--database-url", db, *EMULATOR)
    assert code == 0, err
    assert "site-wide delta" in out and "cannot see deleted entries" in out and "--touched-by 2" in out
    code, out, err = invoke("--touched-by", "2", "--emulator-day", "1", "--json", "--database-url", db, *EMULATOR)
    assert code == 0, err
    assert json.loads(out)["users_done"] > 0


def test_a_sample_larger_than_the_site_says_so(db: str) -> None:
    small = ["--emulator", "--emulator-users", "50", "--emulator-seed", "3", "--rate", "0", "--database-url", db]
    code, out, err = invoke("--sample", "30000", *small)
    assert code == 0, err
    assert "The site lists 50 users, fewer than the 30,000 asked for: all of them were crawled." in out
    code, out, _ = invoke("--sample", "30", "--json", *small)
    assert code == 0 and json.loads(out)["asked"] is None and json.loads(out)["users_done"] == 30
