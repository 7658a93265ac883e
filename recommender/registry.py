"""Saved models: one folder per version under the model directory, and a `latest` pointer.

    MODEL_DIR/
      latest                       text: the newest version's name
      20250101T120000Z-<fp8>/      one version (written to a temporary folder, then renamed)
        als.npz                    implicit's ALS save (user_factors, item_factors, parameters);
                                   `AlternatingLeastSquares.load(path)` reads it back
        ids.npz                    user_ids[row], item_ids[column] (items are Kitsu anime ids
                                   when the data came from the store)
        meta.json                  params, weights, metrics (validation, test: ALS and baselines),
                                   data fingerprint and shape, source, split, created_at
        results.csv                every grid configuration with its validation metrics
        heatmap.png                validation NDCG over factors x regularization (if drawn)

Serving needs only `load_model(dir)`: factors and id maps, no refit.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import ModelNotFoundError, RecommenderError

if TYPE_CHECKING:
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares

__all__ = [
    "SavedModel",
    "check_writable",
    "list_models",
    "load_model",
    "resolve_version",
    "save_model",
]

LATEST = "latest"


def check_writable(model_dir: Path) -> None:
    """Raise RecommenderError unless `model_dir` exists (or can be made) and is writable."""
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecommenderError(f"cannot create the model directory {model_dir}: {exc.strerror}") from None
    if not os.access(model_dir, os.W_OK | os.X_OK):
        raise RecommenderError(f"the model directory {model_dir} is not writable")


def _id_array(values: np.ndarray) -> np.ndarray:
    import numpy as np

    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    return array.astype(str)


def save_model(
    model_dir: Path,
    model: AlternatingLeastSquares,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    meta: dict[str, Any],
    extra_files: dict[str, Path] | None = None,
) -> str:
    """Save a version (atomically) and point `latest` at it; returns the version name."""
    import numpy as np

    check_writable(model_dir)
    now = datetime.now(timezone.utc)
    base = f"{now:%Y%m%dT%H%M%SZ}-{str(meta.get('fingerprint', 'model'))[:8]}"
    version, n = base, 1
    while (model_dir / version).exists():
        n += 1
        version = f"{base}-{n}"
    meta = {**meta, "version": version, "created_at": now.isoformat(timespec="seconds")}
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=model_dir))
    try:
        model.save(str(staging / "als.npz"))
        np.savez(staging / "ids.npz", user_ids=_id_array(user_ids), item_ids=_id_array(item_ids))
        (staging / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        for name, path in (extra_files or {}).items():
            if path.exists():
                shutil.copyfile(path, staging / name)
        staging.rename(model_dir / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    pointer = model_dir / f".{LATEST}.tmp"
    pointer.write_text(version + "\n")
    os.replace(pointer, model_dir / LATEST)
    return version


def _versions(model_dir: Path) -> list[str]:
    if not model_dir.is_dir():
        return []
    return sorted(p.name for p in model_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "meta.json").is_file())


def resolve_version(model_dir: Path, version: str | None = None) -> str:
    """The version named (a prefix will do), or the `latest` one."""
    versions = _versions(model_dir)
    if not versions:
        raise ModelNotFoundError(f"no saved model in {model_dir}: run `recommend train` first")
    if version in (None, LATEST):
        pointer = model_dir / LATEST
        named = pointer.read_text().strip() if pointer.is_file() else ""
        return named if named in versions else versions[-1]
    if version in versions:
        return version
    matches = [v for v in versions if v.startswith(version)]
    if len(matches) != 1:
        what = "no" if not matches else "more than one"
        raise ModelNotFoundError(f"{what} model version matches {version!r} in {model_dir}")
    return matches[0]


def list_models(model_dir: Path) -> list[dict[str, Any]]:
    """The metadata of every saved version, oldest first, with `latest` marked."""
    try:
        latest = resolve_version(model_dir)
    except ModelNotFoundError:
        return []
    out = []
    for version in _versions(model_dir):
        meta = json.loads((model_dir / version / "meta.json").read_text())
        out.append({**meta, "version": version, "latest": version == latest})
    return out


@dataclass(frozen=True)
class SavedModel:
    """A loaded version: factors, id maps and metadata."""

    path: Path
    user_factors: np.ndarray
    item_factors: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    meta: dict[str, Any]

    @property
    def version(self) -> str:
        return self.path.name

    @cached_property
    def user_index(self) -> dict[Any, int]:
        """User id -> row of user_factors."""
        return {uid: row for row, uid in enumerate(self.user_ids.tolist())}

    @cached_property
    def item_index(self) -> dict[Any, int]:
        """Item id (anime id) -> row of item_factors."""
        return {iid: row for row, iid in enumerate(self.item_ids.tolist())}

    def als(self) -> AlternatingLeastSquares:
        """The implicit model, ready for recommend()/similar_items()."""
        import warnings

        from implicit.cpu.als import AlternatingLeastSquares

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # BLAS threads: the caller pins them
            return AlternatingLeastSquares.load(str(self.path / "als.npz"))


def load_model(model_dir: Path, version: str | None = None) -> SavedModel:
    """Load a saved version (default: latest) without refitting anything."""
    import numpy as np

    path = model_dir / resolve_version(model_dir, version)
    try:
        with np.load(path / "als.npz", allow_pickle=False) as als, \
                np.load(path / "ids.npz", allow_pickle=False) as ids:
            arrays = (als["user_factors"], als["item_factors"], ids["user_ids"], ids["item_ids"])
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, KeyError, ValueError) as exc:
        raise RecommenderError(f"the saved model {path} is unreadable: {exc}") from None
    return SavedModel(path, *arrays, meta=meta)
