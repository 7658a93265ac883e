"""Alembic environment: migrates the store described by kitsu_ingest.store.models."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from kitsu_ingest.store.engine import hold_ddl
from kitsu_ingest.store.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,  # one transaction for the whole upgrade, on SQLite too (see hold_ddl)
    )
    with context.begin_transaction():
        hold_ddl(connection)
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the connection handed over by kitsu_ingest.store.migrate, or open DATABASE_URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from kitsu_ingest.settings import get_settings
    from kitsu_ingest.store.engine import make_engine

    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    with make_engine(url).connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; connect to a database")
run_migrations_online()
