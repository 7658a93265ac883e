"""The confidence matrix as Parquet, written once for Spark (or any engine that reads Parquet).

    EXPORT/
      manifest.json                          ours: format and version, data fingerprint, columns,
                                             row counts, shape, confidence and split settings
      users.parquet, items.parquet           column `id`: the id of each matrix row / column
      matrix/part=train/part-00000.parquet   user (int32 row), item (int32 column), confidence (float32)
      matrix/part=validation/..., matrix/part=test/...

The matrix is partitioned by `part`, the split (`recommender.data.splits`) each entry falls in,
so one export serves every fit of a training run: train is `part=train`, train + validation the
first two parts, all of the data every part. Each part holds `apply_confidence` of that part of
the split; the transforms (linear, log) act entry by entry, so a union of parts is exactly the
confidence of the union. BM25 weighs each entry by its whole row and column: it is refused.

An export is written whole or not at all (into a temporary folder beside it, then renamed), and
only over a folder that is missing, empty or an export of ours: anything else is refused, so a
mistyped path never replaces someone's data.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import DataError, RecommenderError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from recommender.data.interactions import Interactions
    from recommender.data.splits import Split

__all__ = ["EXPORT_FORMAT", "EXPORT_VERSION", "MANIFEST", "PARTS", "Export", "ExportError", "ExportSettings",
           "ensure_export", "export_parts", "read_export", "read_manifest", "write_export"]

EXPORT_FORMAT = "kitsu-recs/confidence-parquet"
EXPORT_VERSION = 1
MANIFEST = "manifest.json"
PARTS = ("train", "validation", "test")
"""The parts of the split, as the `part` partition names them."""
COLUMNS = {"user": "int32: row of users.parquet", "item": "int32: row of items.parquet",
           "confidence": "float32: the confidence ALS is fitted on",
           "part": "partition folder: train, validation or test"}
_ROWS_PER_FILE = 1 << 22


class ExportError(RecommenderError):
    """A folder that is not an export of ours, or an export that is damaged or too new."""


@dataclass(frozen=True)
class ExportSettings:
    """What an export holds besides the data: the confidence transform and the split."""

    transform: str
    split: dict[str, Any]
    """The split's method and settings (`TrainConfig.split` and `split_args()`)."""


@dataclass(frozen=True)
class Export:
    """An export read back: each part's confidence matrix and the id maps."""

    parts: dict[str, csr_matrix]
    user_ids: Any
    item_ids: Any
    manifest: dict[str, Any]


def export_parts(split: Split, transform: str) -> dict[str, csr_matrix]:
    """The confidence matrix of each part of `split` (pure)."""
    from recommender.data.events import apply_confidence

    matrices = (split.train, split.validation, split.test)
    return {name: apply_confidence(matrix, transform, False) for name, matrix in zip(PARTS, matrices)}


def _identity(data: Interactions, settings: ExportSettings) -> dict[str, Any]:
    """What must match for an export to be reused."""
    return {"fingerprint": data.fingerprint(), "shape": list(data.shape),
            "confidence": {"transform": settings.transform, "bm25": False}, "split": settings.split}


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of an export of ours in `folder`; None for a missing or empty folder;
    ExportError for anything else (a file, a folder of other things, a newer export)."""
    folder = Path(folder)
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise ExportError(f"{folder} is not an export folder of kitsu-recs (it is a file): give a new or empty folder")
    try:
        if not any(folder.iterdir()):
            return None
        document = json.loads((folder / MANIFEST).read_bytes())
    except (OSError, ValueError, RecursionError):
        document = None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ExportError(f"{folder} is not an export folder of kitsu-recs (no {MANIFEST} of ours): "
                          "give a new or empty folder")
    version = document.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise ExportError(f"the export {folder} has version {version!r}, newer than this code reads "
                          f"({EXPORT_VERSION}): upgrade kitsu-recs or export again into a new folder")
    return document


def _write_ids(path: Path, ids: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from recommender.data.ids import id_array

    pq.write_table(pa.table({"id": id_array(ids)}), path)


def _write_part(folder: Path, matrix: csr_matrix) -> None:
    """One part's entries in row order, in files of at most _ROWS_PER_FILE rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    users = np.repeat(np.arange(matrix.shape[0], dtype=np.int32), np.diff(matrix.indptr))
    for n, start in enumerate(range(0, max(matrix.nnz, 1), _ROWS_PER_FILE)):
        stop = start + _ROWS_PER_FILE
        table = pa.table({"user": users[start:stop], "item": matrix.indices[start:stop].astype(np.int32),
                          "confidence": matrix.data[start:stop].astype(np.float32)})
        pq.write_table(table, folder / f"part-{n:05d}.parquet")


def write_export(folder: Path, data: Interactions, split: Split, settings: ExportSettings) -> dict[str, Any]:
    """Write the export (whole or not at all) into `folder`, which must be missing, empty or an
    export of ours (then replaced); returns its manifest."""
    folder = Path(folder)
    if settings.transform not in ("linear", "log"):
        raise DataError(f"the export takes linear or log confidence, not {settings.transform!r} "
                        "(BM25 weighs each entry by its whole row and column)")
    if max(data.shape) >= 2**31:
        raise DataError(f"{data.describe()}: an export numbers rows and columns in 32 bits")
    replacing = read_manifest(folder) is not None
    parts = export_parts(split, settings.transform)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    staging = folder.parent / f".{folder.name}.{tag}.partial"
    staging.mkdir()
    try:
        _write_ids(staging / "users.parquet", data.user_ids)
        _write_ids(staging / "items.parquet", data.item_ids)
        for name, matrix in parts.items():
            _write_part(staging / "matrix" / f"part={name}", matrix)
        manifest = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, **_identity(data, settings),
                    "columns": COLUMNS, "rows": sum(m.nnz for m in parts.values()),
                    "parts": {name: {"rows": int(m.nnz), "positive": int((m.data > 0).sum())}
                              for name, m in parts.items()},
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _swap_in(staging, folder, replacing, tag)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _swap_in(staging: Path, folder: Path, replacing: bool, tag: str) -> None:
    """Rename `staging` to `folder`; an export of ours there is moved aside first, then removed."""
    if not replacing:
        if folder.is_dir():
            folder.rmdir()  # empty (read_manifest said so)
        staging.rename(folder)
        return
    old = folder.parent / f".{folder.name}.{tag}.old"
    folder.rename(old)
    try:
        staging.rename(folder)
    except OSError:
        old.rename(folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def ensure_export(folder: Path, data: Interactions, split: Split, settings: ExportSettings) -> tuple[
        dict[str, Any], bool]:
    """(manifest, written): the export of ours in `folder` when it holds this data, confidence
    and split; else written anew (refused over a folder that is not ours)."""
    manifest = read_manifest(folder)
    if manifest is not None and all(manifest.get(k) == v for k, v in _identity(data, settings).items()):
        return manifest, False
    return write_export(folder, data, split, settings), True


def read_export(folder: Path) -> Export:
    """An export of ours read back whole (each part's matrix and the id maps)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from scipy.sparse import csr_matrix

    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise ExportError(f"there is no export in {folder}: write one with `recommend export`")
    shape = tuple(manifest["shape"])
    parts = {}
    try:
        user_ids = pq.read_table(folder / "users.parquet").column("id").to_numpy()
        item_ids = pq.read_table(folder / "items.parquet").column("id").to_numpy()
        for name in PARTS:
            files = sorted((folder / "matrix" / f"part={name}").glob("part-*.parquet"))
            table = pa.concat_tables([pq.read_table(f) for f in files])
            rows, columns = table.column("user").to_numpy(), table.column("item").to_numpy()
            values = table.column("confidence").to_numpy()
            matrix = csr_matrix((values.astype(np.float32), (rows, columns)), shape=shape)
            matrix.sort_indices()
            parts[name] = matrix
    except (OSError, KeyError, ValueError, pa.ArrowException) as exc:
        raise ExportError(f"the export {folder} is damaged: {(str(exc).splitlines() or [type(exc).__name__])[0]}") \
            from None
    counts = {name: m.nnz for name, m in parts.items()}
    if counts != {name: part["rows"] for name, part in manifest["parts"].items()} \
            or (len(user_ids), len(item_ids)) != shape:
        raise ExportError(f"the export {folder} is damaged: its files do not hold what {MANIFEST} says")
    return Export(parts, user_ids, item_ids, manifest)
