"""Shared fixtures: empty migrated stores on SQLite and on PostgreSQL.

PostgreSQL tests use a database created for this test session on the server named by
TEST_POSTGRES_URL (default: the local server, postgresql+psycopg://postgres@127.0.0.1/postgres
as the admin connection). An unreachable server fails those tests loudly; deselect them with
`-m "not postgres"` on a machine without one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from kitsu_ingest.store import make_engine, metadata
from kitsu_ingest.store.migrate import upgrade

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped afterwards."""
    admin = make_engine(ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"kitsu_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_postgres(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """URL of an empty database (no tables), on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("postgres_url")
    _reset_postgres(url).dispose()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    """An engine on an empty store migrated to the newest schema, on each backend in turn."""
    engine = make_engine(store_url)
    upgrade(engine)
    yield engine
    engine.dispose()
