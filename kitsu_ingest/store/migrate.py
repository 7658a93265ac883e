"""Schema migrations driven from Python: the alembic scripts, shipped as the package data
`kitsu_ingest/store/migrations` (setuptools maps the checkout's top-level `alembic/` folder there)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from kitsu_ingest.errors import ConfigError, SchemaAheadError, SchemaBehindError, StoreError
from kitsu_ingest.store.engine import describe_url, make_engine
from kitsu_ingest.store.models import metadata

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_known_revision",
    "open_store",
    "require_current_schema",
    "upgrade",
]


def _migrations_dir() -> Path:
    """Where the alembic scripts are: `migrations/` beside this module in an installed wheel, else
    the top-level `alembic/` of the checkout this module is in (an editable install, or no install)."""
    installed, checkout = Path(__file__).parent / "migrations", Path(__file__).resolve().parents[2] / "alembic"
    return checkout if not (installed / "env.py").is_file() and (checkout / "env.py").is_file() else installed


MIGRATIONS_DIR = _migrations_dir()


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


def is_known_revision(revision: str) -> bool:
    """Whether this code has the migration `revision` (False for one made by a newer kitsu-recs)."""
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        return False
    return True


def _require_known(engine: Engine, current: str | None) -> None:
    """Raise SchemaAheadError when the database is at a revision this code does not know."""
    if current is not None and not is_known_revision(current):
        raise SchemaAheadError(
            f"the database {describe_url(engine.url)} is at schema {current}, newer than this "
            f"kitsu-recs knows (its newest is {head_revision()}): upgrade kitsu-recs to use it"
        )


def _run(engine: Engine, action: str, revision: str) -> None:
    _require_known(engine, current_revision(engine))
    config = alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            getattr(command, action)(config, revision)
    except CommandError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "Can't locate revision" in reason:
            reason = f"unknown schema revision {revision!r} (this kitsu-recs knows base, {_known()} and head)"
        raise ConfigError(f"cannot {action} to {revision!r}: {reason}") from None


def _known() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    return ", ".join(s.revision for s in reversed(list(script.walk_revisions())))


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
    """Raise SchemaBehindError unless the database is at the newest revision (SchemaAheadError
    when it is at a revision of a newer kitsu-recs)."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    _require_known(engine, current)
    where = describe_url(engine.url)
    if current is None:
        raise SchemaBehindError(
            f"the database {where} has no tables yet: run `kitsu-ingest db upgrade` first"
        )
    raise SchemaBehindError(
        f"the database {where} is at schema {current}, this version needs {head}: "
        "run `kitsu-ingest db upgrade`"
    )


def open_store(url: str, *, create: bool = True, one_connection: bool = False) -> Engine:
    """An engine for `url` whose schema is known to be current (else SchemaBehindError);
    `create=False`: a SQLite file that does not exist is a StoreError; `one_connection`: one
    pooled SQLite connection (see `make_engine`)."""
    engine = make_engine(url, create=create, one_connection=one_connection)
    require_current_schema(engine)
    return engine
