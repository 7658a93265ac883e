from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kitsu_ingest import __version__
from kitsu_ingest.cli import main
from kitsu_ingest.store.migrate import head_revision
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
