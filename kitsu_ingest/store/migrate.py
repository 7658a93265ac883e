"""Schema migrations driven from Python: alembic scripts shipped in the package (`migrations/`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from kitsu_ingest.errors import SchemaBehindError, StoreError
from kitsu_ingest.store.engine import describe_url, make_engine
from kitsu_ingest.store.models import metadata

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "open_store",
    "require_current_schema",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An alembic Config pointing at the project's migration scripts."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise StoreError(
            f"migration scripts not found in {MIGRATIONS_DIR}: this installation of kitsu-recs is incomplete; "
            "reinstall it"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration scripts"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for a database never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _run(engine: Engine, action: str, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to `revision`.

    Refuses (StoreError) a database that already holds our tables without alembic's record of
    them: migrating it would fail half-way or, worse, mix two schemas.
    """
    if current_revision(engine) is None:
        clashing = sorted(set(inspect(engine).get_table_names()) & set(metadata.tables))
        if clashing:
            raise StoreError(
                f"the database {describe_url(engine.url)} already has tables "
                f"({', '.join(clashing)}) that no migration made; "
                "use an empty database or one created by `kitsu-ingest db upgrade`"
            )
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to `revision` ("base" drops every table)."""
    _run(engine, "downgrade", revision)


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaBehindError unless the database is at the newest revision."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    where = describe_url(engine.url)
    if current is None:
        raise SchemaBehindError(
            f"the database {where} has no tables yet: run `kitsu-ingest db upgrade` first"
        )
    raise SchemaBehindError(
        f"the database {where} is at schema {current}, this version needs {head}: "
        "run `kitsu-ingest db upgrade`"
    )


def open_store(url: str, *, create: bool = True) -> Engine:
    """An engine for `url` whose schema is known to be current (else SchemaBehindError);
    `create=False`: a SQLite file that does not exist is a StoreError (see `make_engine`)."""
    engine = make_engine(url, create=create)
    require_current_schema(engine)
    return engine
