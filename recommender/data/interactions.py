"""Interactions: a users x items CSR matrix of strengths with its id maps, from a store or a file.

Ids are mapped through pandas categoricals: row `u` is user `user_ids[u]`, column `i` is item
`item_ids[i]` (for the store, item ids are Kitsu anime ids). `times` (seconds since the epoch,
aligned with the CSR entries) is kept when the data has a time, for temporal splits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import DataError
from recommender.events import EventWeights, event_strengths

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix
    from sqlalchemy.engine import Engine

__all__ = ["FileSpec", "Interactions", "from_frame", "load_file", "load_source", "load_store"]


@dataclass(frozen=True)
class Interactions:
    """A users x items matrix of summed event strengths and the ids of its rows and columns."""

    matrix: csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    times: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    def fingerprint(self) -> str:
        """A short hash of the matrix and its ids: equal data, equal fingerprint."""
        digest = hashlib.sha256()
        for array in (self.user_ids, self.item_ids):
            digest.update("\x1f".join(map(str, array.tolist())).encode())
        m = self.matrix
        for array in (m.indptr, m.indices, m.data):
            digest.update(array.astype("<i8" if array is not m.data else "<f4").tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> str:
        users, items = self.shape
        return f"{users:,} users x {items:,} items, {self.nnz:,} interactions"


def _filter_activity(frame: pd.DataFrame, min_user_items: int, min_item_users: int) -> pd.DataFrame:
    """Drop items with fewer than `min_item_users` users and users with fewer than
    `min_user_items` items, repeated until both hold (each drop can break the other)."""
    for _ in range(20):
        before = len(frame)
        if min_item_users > 1:
            counts = frame.groupby("item", observed=True)["user"].transform("size")
            frame = frame[counts >= min_item_users]
        if min_user_items > 1:
            counts = frame.groupby("user", observed=True)["item"].transform("size")
            frame = frame[counts >= min_user_items]
        if len(frame) == before:
            break
    return frame


def from_frame(
    frame: pd.DataFrame, *, min_user_items: int = 1, min_item_users: int = 1
) -> Interactions:
    """Interactions from columns user, item, strength (and optionally time).

    Duplicate (user, item) rows are summed (the latest time kept); non-positive strengths and
    missing ids are dropped.
    """
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix

    frame = frame.dropna(subset=["user", "item", "strength"])
    frame = frame[frame["strength"] > 0]
    if frame.duplicated(["user", "item"]).any():
        aggregations = {"strength": "sum", **({"time": "max"} if "time" in frame else {})}
        frame = frame.groupby(["user", "item"], sort=False).agg(aggregations).reset_index()
    frame = _filter_activity(frame, min_user_items, min_item_users)
    if frame.empty:
        raise DataError("no interactions left to train on (check the data and the --min-* filters)")
    users = pd.Categorical(frame["user"])
    items = pd.Categorical(frame["item"])
    rows = users.codes.astype(np.int64)
    cols = items.codes.astype(np.int64)
    order = np.lexsort((cols, rows))
    shape = (len(users.categories), len(items.categories))
    matrix = csr_matrix(
        (frame["strength"].to_numpy(np.float32)[order], (rows[order], cols[order])), shape=shape
    )
    matrix.sort_indices()
    times = None
    if "time" in frame:
        stamps = pd.to_datetime(frame["time"], errors="coerce", utc=True)
        seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        times = seconds.fillna(0.0).to_numpy(np.float64)[order]
    return Interactions(
        matrix, np.asarray(users.categories), np.asarray(items.categories), times
    )


@dataclass(frozen=True)
class FileSpec:
    """Where the interactions of a CSV/TSV/Parquet file are."""

    path: str
    user_col: str = "user"
    item_col: str = "item"
    weight_col: str | None = None
    status_col: str | None = None
    time_col: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "file", **self.__dict__, "path": str(Path(self.path).resolve())}


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"no such interactions file: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            present = pq.read_schema(path).names
            _require(columns, present, path)
            return pd.read_parquet(path, columns=columns)
        with path.open(encoding="utf-8", errors="replace") as handle:
            header = handle.readline()
        sep = "\t" if "\t" in header else ";" if header.count(";") > header.count(",") else ","
        present = [name.strip().strip('"') for name in header.rstrip("\r\n").split(sep)]
        _require(columns, present, path)
        return pd.read_csv(path, sep=sep, usecols=columns)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the interactions file {path}: {exc}") from None


def _require(columns: list[str], present: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise DataError(
            f"{path} has no column {', '.join(map(repr, missing))}; "
            f"its columns are {', '.join(present[:20])}"
        )


def load_file(
    spec: FileSpec, weights: EventWeights | None = None, *, min_user_items: int = 1,
    min_item_users: int = 1,
) -> Interactions:
    """Interactions from a CSV/TSV (separator sniffed from the header) or Parquet file.

    Strength is the weight column, or the status mapped through `weights`, or 1 per row.
    """
    if spec.weight_col and spec.status_col:
        raise DataError("give either a weight column or a status column, not both")
    wanted = {"user": spec.user_col, "item": spec.item_col}
    for name, column in (("weight", spec.weight_col), ("status", spec.status_col),
                         ("time", spec.time_col)):
        if column:
            wanted[name] = column
    raw = _read_table(Path(spec.path), list(dict.fromkeys(wanted.values())))
    frame = raw.rename(columns={v: k for k, v in wanted.items()})
    if spec.status_col:
        frame = event_strengths(frame, None, weights)
    elif spec.weight_col:
        import pandas as pd

        strength = pd.to_numeric(frame["weight"], errors="coerce")
        if strength.isna().any():
            raise DataError(f"{spec.path}: column {spec.weight_col!r} holds non-numeric values")
        frame = frame.drop(columns="weight").assign(strength=strength)
    else:
        frame = frame.assign(strength=1.0)
    return from_frame(frame, min_user_items=min_user_items, min_item_users=min_item_users)


def load_store(
    engine: Engine, weights: EventWeights | None = None, *, min_user_items: int = 1,
    min_item_users: int = 1,
) -> Interactions:
    """Interactions from the store's library entries and favourites (one query each)."""
    import pandas as pd
    from sqlalchemy import select

    from kitsu_ingest.store.models import Favorite, LibraryEntry

    entries_q = select(
        LibraryEntry.user_id.label("user"),  # type: ignore[attr-defined]
        LibraryEntry.anime_id.label("item"),  # type: ignore[union-attr]
        LibraryEntry.status.label("status"),  # type: ignore[attr-defined]
        LibraryEntry.updated_at.label("time"),  # type: ignore[union-attr]
    ).where(LibraryEntry.anime_id.is_not(None))  # type: ignore[union-attr]
    favorites_q = select(
        Favorite.user_id.label("user"),  # type: ignore[attr-defined]
        Favorite.anime_id.label("item"),  # type: ignore[attr-defined]
        Favorite.updated_at.label("time"),  # type: ignore[union-attr]
    )
    with engine.connect() as conn:
        entries = pd.read_sql(entries_q, conn)
        favorites = pd.read_sql(favorites_q, conn)
    if entries.empty and favorites.empty:
        raise DataError("the store has no library entries: run `kitsu-ingest crawl` first")
    entries["status"] = entries["status"].astype("category")
    frame = event_strengths(entries, favorites, weights)
    return from_frame(frame, min_user_items=min_user_items, min_item_users=min_item_users)


def load_source(
    source: dict[str, Any], weights: EventWeights | None = None, *, min_user_items: int = 1,
    min_item_users: int = 1, database_url: str | None = None,
) -> Interactions:
    """Interactions from a source description: {"kind": "file", FileSpec fields} or
    {"kind": "store"} (the store at `database_url`, else the DATABASE_URL setting)."""
    filters = {"min_user_items": min_user_items, "min_item_users": min_item_users}
    if source.get("kind") == "file":
        spec = FileSpec(**{k: v for k, v in source.items() if k != "kind"})
        return load_file(spec, weights, **filters)
    from kitsu_ingest.settings import get_settings
    from kitsu_ingest.store.migrate import open_store

    engine = open_store(get_settings(database_url=database_url).database_url)
    try:
        return load_store(engine, weights, **filters)
    finally:
        engine.dispose()
