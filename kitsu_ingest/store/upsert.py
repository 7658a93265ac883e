"""Dialect-aware bulk upsert: insert rows, or update the row already there with the same key.

The statement is compiled once by SQLAlchemy (`INSERT ... ON CONFLICT (key) DO UPDATE`) and sent
with the driver's own `executemany`, values converted by the columns' bind processors: SQLAlchemy's
per-row bookkeeping would cost half the throughput (measured in bench/bench_upsert.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Any

from sqlalchemy import DateTime, Table, select
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Insert

__all__ = ["DEFAULT_BATCH", "upsert", "upsert_statement"]

DEFAULT_BATCH = 20000

Processor = Callable[[Any], Any] | None


def upsert_statement(table: Table, dialect_name: str, columns: Iterable[str]) -> Insert:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE SET every other given column."""
    stmt: sqlite.Insert | postgresql.Insert
    if dialect_name == "sqlite":
        stmt = sqlite.insert(table)
    elif dialect_name == "postgresql":
        stmt = postgresql.insert(table)
    else:
        raise ValueError(f"no upsert for dialect {dialect_name!r}")
    keys = [c.name for c in table.primary_key.columns]
    updates = {name: stmt.excluded[name] for name in columns if name not in keys}
    if not updates:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


def _naive_utc(value: datetime | None) -> datetime | None:
    """Aware times become naive UTC, as every time column stores them."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text format, from C rather than a %-format per value."""
    value = _naive_utc(value)
    return None if value is None else value.isoformat(" ", "microseconds")


@lru_cache(maxsize=64)
def _compiled(
    table: Table, dialect: Dialect, columns: tuple[str, ...]
) -> tuple[str, tuple[str, ...], tuple[tuple[int, Processor], ...]]:
    """SQL with positional parameters, their column order, and the converters they need."""
    if not dialect.positional and isinstance(dialect, DefaultDialect):  # psycopg's named style -> %s
        dialect = type(dialect)(paramstyle="format")
    compiled = upsert_statement(table, dialect.name, columns).compile(
        dialect=dialect, column_keys=list(columns)
    )
    order = tuple(compiled.positiontup or ())
    converters: list[tuple[int, Processor]] = []
    for i, name in enumerate(order):
        column_type = table.c[name].type
        if isinstance(column_type, DateTime):
            converters.append((i, _sqlite_time if dialect.name == "sqlite" else _naive_utc))
        elif (convert := column_type.dialect_impl(dialect).bind_processor(dialect)) is not None:
            converters.append((i, convert))
    return str(compiled), order, tuple(converters)


def _batches(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def upsert(
    bind: Connection | Engine,
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    batch_size: int = DEFAULT_BATCH,
) -> int:
    """Upsert `rows` (dicts keyed by column name, all with the same keys) into `table`.

    Rows are streamed in batches of `batch_size`, so memory stays flat however many there are.
    With an Engine each batch commits on its own; with a Connection the caller owns the
    transaction. The last row for a key wins. Returns the number of rows sent.
    """
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            sent = 0
            for batch in _batches(rows, batch_size):
                sent += _upsert_batch(conn, table, batch)
                conn.commit()
            return sent
    return sum(_upsert_batch(bind, table, batch) for batch in _batches(rows, batch_size))


def _upsert_batch(conn: Connection, table: Table, batch: list[Mapping[str, Any]]) -> int:
    if not conn.in_transaction():
        conn.begin()
    if conn.dialect.name == "postgresql":
        return _copy_upsert(conn, table, batch)
    sql, order, converters = _compiled(table, conn.dialect, tuple(batch[0].keys()))
    # executemany runs the statement once per row: a key repeated in a batch is updated twice.
    with _driver_errors(conn, sql), closing(conn.connection.cursor()) as cursor:
        cursor.executemany(sql, [_values(row, order, converters) for row in batch])
    return len(batch)


@contextmanager
def _driver_errors(conn: Connection, sql: str) -> Iterator[None]:
    """Raise the driver's own errors as SQLAlchemy's (OperationalError, IntegrityError, ...)."""
    base = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except base as exc:
        raise DBAPIError.instance(sql, None, exc, base) from exc


def _values(
    row: Mapping[str, Any], order: tuple[str, ...], converters: tuple[tuple[int, Processor], ...]
) -> list[Any]:
    values = [row[name] for name in order]
    for i, convert in converters:
        values[i] = convert(values[i])  # type: ignore[misc]
    return values


def _copy_upsert(conn: Connection, table: Table, batch: list[Mapping[str, Any]]) -> int:
    """PostgreSQL: COPY the batch into a temporary table, then one INSERT ... SELECT upsert."""
    keys = [c.name for c in table.primary_key.columns]
    # One INSERT may not touch a row twice: keep the last row per key.
    unique = list({tuple(row[k] for k in keys): row for row in batch}.values())
    columns = tuple(unique[0].keys())
    merge_sql, stage = _merge_statement(table, conn.dialect, columns)
    _, order, converters = _compiled(table, conn.dialect, columns)
    names = ", ".join(f'"{name}"' for name in order)
    with _driver_errors(conn, merge_sql), closing(conn.connection.cursor()) as cursor:
        cursor.execute(
            f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" '
            f'(LIKE "{table.name}") ON COMMIT DELETE ROWS'
        )
        cursor.execute(f'TRUNCATE "{stage}"')
        with cursor.copy(f'COPY "{stage}" ({names}) FROM STDIN') as copy:
            for row in unique:
                copy.write_row(_values(row, order, converters))
        cursor.execute(merge_sql)
    return len(batch)


@lru_cache(maxsize=64)
def _merge_statement(table: Table, dialect: Dialect, columns: tuple[str, ...]) -> tuple[str, str]:
    stage_name = f"_stage_{table.name}"
    stage = sa_table(stage_name, *(sa_column(name) for name in columns))
    insert = postgresql.insert(table).from_select(list(columns), select(*stage.c))
    keys = [c.name for c in table.primary_key.columns]
    updates = {name: insert.excluded[name] for name in columns if name not in keys}
    stmt = insert.on_conflict_do_update(index_elements=keys, set_=updates)
    return str(stmt.compile(dialect=dialect)), stage_name
