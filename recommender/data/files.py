"""Interactions from a CSV/TSV (separator sniffed from the header) or Parquet file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.data.events import EventWeights, event_strengths
from recommender.data.interactions import Interactions, from_frame
from recommender.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FileSpec", "load_file"]


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


