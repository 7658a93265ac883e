"""Interactions from a CSV/TSV (separator sniffed from the header) or Parquet file.

Whatever a file holds, it loads or it is one DataError line: a byte-order mark is read past; the
header, values and reader errors a message shows are escaped and cut short (a binary file's bytes
are never printed raw). Weights must be numbers, present, finite and at most MAX_STRENGTH in size
(ALS on float32 overflows to NaN factors near 1e20, so 1e12 leaves room for sums and alpha); a time
column must hold numbers or dates; each role (user, item, weight, status, time) needs its own column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.data.events import EventWeights, frame_columns, from_events
from recommender.data.ids import shown
from recommender.data.interactions import Interactions, from_frame
from recommender.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_STRENGTH", "FileSpec", "load_file", "load_titles"]

MAX_STRENGTH = 1e12
"""The largest weight a file may give one interaction (play counts and ratings are far below)."""


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


def _read_table(path: Path, columns: list[str], what: str = "interactions") -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"no such {what} file: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            present = pq.read_schema(path).names
            _require(columns, present, path)
            return pd.read_parquet(path, columns=columns)
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            header = handle.readline(1 << 16)
        sep = "\t" if "\t" in header else ";" if header.count(";") > header.count(",") else ","
        present = [name.strip().strip('"') for name in header.rstrip("\r\n").split(sep)]
        _require(columns, present, path)
        return pd.read_csv(path, sep=sep, usecols=columns, encoding="utf-8-sig")
    except (OSError, ValueError, OverflowError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"cannot read the {what} file {path}: {shown(reason, 200)}") from None


def _require(columns: list[str], present: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise DataError(
            f"{path} has no column {', '.join(map(repr, missing))}; "
            f"its columns are {', '.join(shown(c, 30) for c in present[:20])}"
        )


def load_file(
    spec: FileSpec, weights: EventWeights | None = None, *, min_user_items: int = 1,
    min_item_users: int = 1, kinds: bool = False,
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
    roles: dict[str, str] = {}
    for role, column in wanted.items():
        if column in roles:
            raise DataError(f"column {shown(column)} is given as both the {roles[column]} and the {role} "
                            "column: each needs a column of its own")
        roles[column] = role
    raw = _read_table(Path(spec.path), list(wanted.values()))
    frame = raw.rename(columns={v: k for k, v in wanted.items()})
    if spec.time_col:
        frame["time"] = _times(frame["time"], spec)
    if spec.status_col:
        return from_events(frame_columns(frame), weights or EventWeights(), kinds=kinds,
                           min_user_items=min_user_items, min_item_users=min_item_users)
    if spec.weight_col:
        frame = frame.drop(columns="weight").assign(strength=_strengths(frame["weight"], spec))
    else:
        frame = frame.assign(strength=1.0)
    return from_frame(frame, min_user_items=min_user_items, min_item_users=min_item_users)


def _strengths(column: pd.Series, spec: FileSpec) -> pd.Series:
    """The weight column as numbers; DataError (naming the first bad row) for a missing,
    non-numeric, infinite or absurdly large one."""
    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(column, errors="coerce").astype("float64")
    checks = [(column.isna(), "a missing (NaN) value", ""),
              (numbers.isna(), "a non-numeric value", ""),
              (np.isinf(numbers), "an infinite value", ""),
              (numbers.abs() > MAX_STRENGTH, f"a value beyond {MAX_STRENGTH:g}", " (scale them down, or take logs)")]
    for bad, what, hint in checks:
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise DataError(f"{spec.path}: column {shown(spec.weight_col)} holds {what}: "
                            f"{shown(column.iloc[row])} in data row {row + 1}{hint}")
    return numbers


def _times(column: pd.Series, spec: FileSpec) -> pd.Series:
    """The time column as numbers or UTC times; DataError if a value is neither."""
    import warnings

    import pandas as pd
    from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

    if is_numeric_dtype(column) or is_datetime64_any_dtype(column):
        return column
    parsed = pd.to_datetime(column, errors="coerce", utc=True, format="ISO8601")
    for fallback in ({}, {"format": "mixed"}):  # then the format pandas guesses; then each on its own
        left = parsed.isna() & column.notna()
        if not left.any():
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed[left] = pd.to_datetime(column[left], errors="coerce", utc=True, **fallback)
    bad = (parsed.isna() & column.notna()).to_numpy()
    if bad.any():
        row = int(bad.argmax())
        raise DataError(f"{spec.path}: column {shown(spec.time_col)} is not a time column: "
                        f"{shown(column.iloc[row])} (data row {row + 1}) is neither a number nor a date")
    return parsed


def load_titles(path: str | Path, item_col: str = "item", title_col: str = "title") -> dict[str, str]:
    """Item key (as text, as the model's item ids print) -> name, from a CSV/TSV/Parquet file of
    items; rows without a key or a name are skipped, and the first name of a key is kept."""
    import pandas as pd
    from pandas.api.types import is_float_dtype

    if item_col == title_col:
        raise DataError(f"the items file needs two columns: {shown(item_col)} is given as both the item "
                        "and the title column")
    frame = _read_table(Path(path), [item_col, title_col], "items").dropna()
    keys = frame[item_col]
    if is_float_dtype(keys) and bool((keys == keys.round()).all()):  # ids read as floats (a gap in the column)
        keys = keys.astype("int64")
    titles = pd.Series(frame[title_col].astype(str).to_numpy(), index=keys.astype(str).to_numpy())
    return titles[~titles.index.duplicated()].to_dict()
