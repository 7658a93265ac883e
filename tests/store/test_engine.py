from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from kitsu_ingest.errors import ConfigError, StoreError
from kitsu_ingest.store import make_engine, parse_database_url
from kitsu_ingest.store.engine import describe_url


@pytest.mark.parametrize("url", ["nonsense", "", "mysql://u@h/db", "postgresql+psycopg2://u@h/db"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_database_url(url)


def test_postgres_url_gets_psycopg3() -> None:
    assert parse_database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_password_is_masked() -> None:
    assert "hunter2" not in describe_url("postgresql+psycopg://u:hunter2@h/db")


def test_sqlite_creates_its_folder_and_uses_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/a/b/store.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    assert (tmp_path / "a" / "b").is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_a_store_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="not writable"):
            make_engine(f"sqlite:///{tmp_path}/store.db")
    finally:
        tmp_path.chmod(0o700)


def test_folder_that_cannot_exist_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot create"):
        make_engine(f"sqlite:///{tmp_path}/file/store.db")


def test_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open the database"):
        make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")


def test_create_false_refuses_a_missing_sqlite_file_and_makes_nothing(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no store at .*kitsu-ingest db upgrade"):
        make_engine(f"sqlite:///{tmp_path}/absent/store.db", create=False)
    assert not (tmp_path / "absent").exists()


def test_create_false_opens_an_existing_store(tmp_path: Path) -> None:
    make_engine(f"sqlite:///{tmp_path}/store.db").dispose()
    engine = make_engine(f"sqlite:///{tmp_path}/store.db", create=False)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


@pytest.mark.parametrize("url", [
    "postgresql://u:PW@[::1:5432/x",          # an IPv6 host without its closing bracket
    "postgresql://u:PW@host:port/x",           # a port that is not a number
    "postgresql+psycopg://u:PW@host/x\x00",    # a control character
    "postgresql://u:P@W@[::1/x",               # an unescaped @ in the password
    "postgresql://u:P\nW@h:x/db",               # a newline in it
])
def test_a_password_is_masked_even_in_a_url_that_cannot_be_parsed(url: str) -> None:
    with pytest.raises(ConfigError, match="is not a database URL") as caught:
        parse_database_url(url)
    message = str(caught.value)
    assert "u:***@" in message and "PW" not in message and "P@W" not in message and "P\nW" not in message
    assert "PW" not in describe_url(url) and "P\nW" not in describe_url(url)


def test_describe_url_masks_the_whole_password() -> None:
    assert describe_url("postgresql+psycopg://u:p@ss@h/db") == "postgresql+psycopg://u:***@h/db"
    assert describe_url("sqlite:///data/a@b.db") == "sqlite:///data/a%40b.db"
    assert describe_url("postgresql+psycopg://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
