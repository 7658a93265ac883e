from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from kitsu_ingest import __version__
from kitsu_ingest.cli import main
from kitsu_ingest.store import make_engine
from kitsu_ingest.store.migrate import current_revision, head_revision
from recommender.cli import main as recommend_main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    assert run("--version")[1].strip().endswith(__version__)
    code, out, _ = run("--help")
    assert code == 0 and "stats" in out and "db" in out
    result = CliRunner().invoke(recommend_main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_upgrade_then_stats(store_url: str) -> None:
    code, out, _ = run("stats", "--database-url", store_url)
    assert code == 2
    code, out, _ = run("db", "upgrade", "--database-url", store_url)
    assert code == 0 and f"-> {head_revision()}" in out
    code, out, _ = run("db", "upgrade", "--database-url", store_url)
    assert code == 0 and "already at schema" in out
    code, out, _ = run("stats", "--json", "--database-url", store_url)
    counts = json.loads(out)
    assert code == 0
    assert counts["users"] == 0 and counts["library_entries_by_status"]["completed"] == 0
    code, out, _ = run("db", "current", "--database-url", store_url)
    assert "up to date" in out


def test_behind_database_says_how_to_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("stats", "--database-url", f"sqlite:///{tmp_path}/x.db")
    assert code == 2
    assert err.strip().count("\n") == 0 and "kitsu-ingest db upgrade" in err


@pytest.mark.parametrize(
    "url, needle",
    [
        ("nonsense", "not a database URL"),
        ("oracle://u@h/db", "unsupported database scheme"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/x", "cannot open the database"),
    ],
)
def test_bad_urls_get_one_line_and_exit_2(url: str, needle: str) -> None:
    code, _, err = run("stats", "--database-url", url)
    assert code == 2
    assert needle in err and "Traceback" not in err and err.strip().count("\n") == 0


def test_database_url_from_environment(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    assert run("db", "upgrade")[0] == 0
    assert (tmp_path / "env.db").exists()


def test_stats_on_a_missing_store_creates_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("stats", "--database-url", f"sqlite:///{tmp_path}/absent/k.db")
    assert code == 2 and err.startswith("error: no store at") and err.strip().count("\n") == 0
    assert not (tmp_path / "absent").exists()


def test_a_url_with_a_password_is_never_echoed() -> None:
    code, _, err = run("stats", "--database-url", "postgresql://u:PW@[::1:5432/x")
    assert code == 2 and err.strip().count("\n") == 0
    assert "'postgresql://u:***@[::1:5432/x' is not a database URL" in err and "PW" not in err


def _newer(store_url: str) -> None:
    """The store as a newer kitsu-recs would leave it: at a revision this code does not know."""
    assert run("db", "upgrade", "--database-url", store_url)[0] == 0
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()


def test_a_store_migrated_by_newer_code_says_so_in_one_line(store_url: str) -> None:
    _newer(store_url)
    for args in (["stats"], ["db", "upgrade"], ["db", "downgrade", "--yes"], ["crawl", "--users", "1", "--emulator"]):
        code, _, err = run(*args, "--database-url", store_url)
        assert code == 2 and err.strip().count("\n") == 0, (args, err)
        assert "is at schema 0099, newer than this kitsu-recs knows (its newest is" in err
        assert "upgrade kitsu-recs" in err and "db upgrade`" not in err
    code, out, _ = run("db", "current", "--database-url", store_url)
    assert code == 0 and "newer than this kitsu-recs: upgrade kitsu-recs" in out
    engine = make_engine(store_url)
    assert current_revision(engine) == "0099"  # nothing was touched
    engine.dispose()


@pytest.mark.parametrize("command", ["upgrade", "downgrade"])
def test_an_unknown_target_revision_is_one_line(store_url: str, command: str) -> None:
    assert run("db", "upgrade", "--database-url", store_url)[0] == 0
    extra = ["--yes"] if command == "downgrade" else []
    code, _, err = run("db", command, "--revision", "nonsense", *extra, "--database-url", store_url)
    assert code == 2 and err.strip().count("\n") == 0
    assert f"cannot {command} to 'nonsense': unknown schema revision 'nonsense'" in err
    code, _, err = run("db", "upgrade", "--revision", "+5", "--database-url", store_url)
    assert code == 2 and err.strip().count("\n") == 0 and err.startswith("error: cannot upgrade to '+5'")
    engine = make_engine(store_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:",
                                 "sqlite:///file::memory:?uri=true", "sqlite:///file:store?mode=memory&uri=true"])
def test_an_in_memory_store_is_refused_in_one_line(url: str) -> None:
    for args in (["db", "upgrade"], ["stats"], ["crawl", "--users", "1", "--emulator"]):
        code, out, err = run(*args, "--database-url", url)
        assert code == 2 and err.strip().count("\n") == 0, (args, err)
        assert "is an in-memory SQLite database, gone when the command ends" in err and "upgraded" not in out
