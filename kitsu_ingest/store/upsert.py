"""Dialect-aware bulk upsert: insert rows, or update the row already there with the same key.

The statement is compiled once by SQLAlchemy (`INSERT ... ON CONFLICT (key) DO UPDATE`) and sent
with the driver's own `executemany`, values converted by the columns' bind processors: SQLAlchemy's
per-row bookkeeping would cost half the throughput (measured in bench/bench_upsert.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import DateTime, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql.expression import Insert

__all__ = ["DEFAULT_BATCH", "upsert", "upsert_statement"]

DEFAULT_BATCH = 5000

Processor = Callable[[Any], Any] | None


def upsert_statement(table: Table, dialect_name: str, columns: Iterable[str]) -> Insert:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE SET every other given column."""
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect_name)
    if insert is None:
        raise ValueError(f"no upsert for dialect {dialect_name!r}")
    stmt = insert(table)
    keys = [c.name for c in table.primary_key.columns]
    updates = {name: stmt.excluded[name] for name in columns if name not in keys}
    if not updates:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text format, from C rather than a %-format per value."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


@lru_cache(maxsize=64)
def _compiled(
    table: Table, dialect: Dialect, columns: tuple[str, ...]
) -> tuple[str, Sequence[str] | None, tuple[Processor, ...]]:
    compiled = upsert_statement(table, dialect.name, columns).compile(
        dialect=dialect, column_keys=list(columns)
    )
    order = list(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    processors: list[Processor] = []
    for name in order or columns:
        column_type = table.c[name].type
        if dialect.name == "sqlite" and isinstance(column_type, DateTime):
            processors.append(_sqlite_time)
        else:
            processors.append(column_type.dialect_impl(dialect).bind_processor(dialect))
    return str(compiled), order, tuple(processors)


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
    transaction. Within one batch the last row for a key wins. Returns the number of rows sent.
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
    keys = [c.name for c in table.primary_key.columns]
    # PostgreSQL refuses one statement that touches a row twice: keep the last row per key.
    key_of = itemgetter(*keys)
    unique = list({key_of(row): row for row in batch}.values())
    columns = tuple(unique[0].keys())
    sql, order, processors = _compiled(table, conn.dialect, columns)
    names = order or columns
    values_of = itemgetter(*names)
    converters = [(i, p) for i, p in enumerate(processors) if p is not None]
    params: list[Any] = []
    for row in unique:
        values = list(values_of(row)) if len(names) > 1 else [row[names[0]]]
        for i, convert in converters:
            values[i] = convert(values[i])
        params.append(tuple(values) if order is not None else dict(zip(names, values)))
    if not conn.in_transaction():
        conn.begin()
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()
    return len(batch)
