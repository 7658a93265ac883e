"""Saved models: one folder per version under the model directory, a `latest` pointer, and the
model card, a typed and versioned record of what each version is.

    MODEL_DIR/
      latest                       text: the newest version's name
      20250101T120000Z-<fp8>/      one version (written to a temporary folder, then renamed)
        <family>.npz               the model's arrays (`Model.save`; ALS: implicit's own format)
        ids.npz                    user_ids[row], item_ids[column] (Kitsu ids for the store's data)
        meta.json                  the model card (`ModelCard.to_json`)
        results.csv, heatmap.png   the search's results and heatmap, when there was a search

Cards written before the card had a format (format 1: ALS only) are read as they are; a card of a
newer format than this code knows is refused with a one-line message. Serving needs only
`load_model(dir)`: the model, its id maps and card, no refit.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.data.events import EventWeights
from recommender.errors import ModelNotFoundError, RecommenderError

if TYPE_CHECKING:
    import numpy as np

    from recommender.models.base import Model
    from recommender.training import TrainConfig

__all__ = ["CARD_FORMAT", "ModelCard", "SavedModel", "check_writable", "list_models", "load_model",
           "resolve_version", "save_model"]

LATEST = "latest"
CARD_FORMAT = 2
"""1: the first cards (ALS only, no family); 2: `family` and `format` added."""


@dataclass(frozen=True)
class ModelCard:
    """What a saved model is: its family and parameters, the weights and data it was trained on,
    how it was evaluated, and its figures (validation of the chosen configuration; test of the
    model and of every baseline)."""

    family: str
    params: dict[str, Any]
    weights: EventWeights
    config: TrainConfig
    validation: dict[str, float]
    test: dict[str, dict[str, float]]
    fingerprint: str
    shape: tuple[int, int]
    nnz: int
    source: dict[str, Any]
    filters: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    version: str = ""
    created_at: str = ""
    format: int = CARD_FORMAT

    def to_json(self) -> dict[str, Any]:
        """The card as meta.json holds it."""
        return {"format": self.format, "family": self.family, "version": self.version,
                "created_at": self.created_at, "params": self.params, "weights": self.weights.as_dict(),
                "metrics": {"validation": self.validation, "test": self.test},
                "fingerprint": self.fingerprint, "shape": list(self.shape), "nnz": self.nnz,
                "source": self.source, "filters": self.filters, "config": asdict(self.config),
                "timings": self.timings}

    @classmethod
    def from_json(cls, document: Any, where: Path | str = "meta.json") -> ModelCard:
        """A card from meta.json (any format up to CARD_FORMAT); RecommenderError if it is not one."""
        from recommender.training import TrainConfig

        try:
            version = int(document.get("format", 1))
            if version > CARD_FORMAT:
                raise RecommenderError(f"the model card {where} has format {version}, newer than this code "
                                       f"reads ({CARD_FORMAT}): upgrade kitsu-recs or retrain the model")
            known = {f.name for f in fields(TrainConfig)}
            config = {k: v for k, v in document["config"].items() if k in known}
            config["baselines"] = tuple(config.get("baselines", ()))
            metrics = document["metrics"]
            return cls(
                family=str(document.get("family", "als")), params=dict(document["params"]),
                weights=EventWeights.from_dict(document["weights"]), config=TrainConfig(**config),
                validation=dict(metrics["validation"]), test=dict(metrics["test"]),
                fingerprint=str(document["fingerprint"]), shape=tuple(document["shape"]),
                nnz=int(document["nnz"]), source=dict(document["source"]),
                filters=dict(document.get("filters", {})), timings=dict(document.get("timings", {})),
                version=str(document.get("version", "")), created_at=str(document.get("created_at", "")),
                format=CARD_FORMAT)
        except RecommenderError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise RecommenderError(f"the model card {where} is malformed ({type(exc).__name__}: {exc}); "
                                   "retrain with `recommend train`") from None

    @property
    def primary(self) -> str:
        """The key of the primary metric at this card's K, e.g. "ndcg@10"."""
        return self.config.primary


def check_writable(model_dir: Path) -> None:
    """Raise RecommenderError unless `model_dir` exists (or can be made) and is writable."""
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecommenderError(f"cannot create the model directory {model_dir}: {exc.strerror}") from None
    if not os.access(model_dir, os.W_OK | os.X_OK):
        raise RecommenderError(f"the model directory {model_dir} is not writable")


def save_model(model_dir: Path, model: Model, user_ids: np.ndarray, item_ids: np.ndarray, card: ModelCard,
               extra_files: dict[str, Path] | None = None) -> ModelCard:
    """Save a version (atomically) and point `latest` at it; returns the card with its version."""
    import numpy as np

    from recommender.data.ids import id_array

    check_writable(model_dir)
    now = datetime.now(UTC)
    base = f"{now:%Y%m%dT%H%M%SZ}-{card.fingerprint[:8] or 'model'}"
    version, n = base, 1
    while (model_dir / version).exists():
        n += 1
        version = f"{base}-{n}"
    card = replace(card, family=model.family, version=version, created_at=now.isoformat(timespec="seconds"))
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=model_dir))
    try:
        model.save(staging)
        np.savez(staging / "ids.npz", user_ids=id_array(user_ids), item_ids=id_array(item_ids))
        (staging / "meta.json").write_text(json.dumps(card.to_json(), indent=2, default=str) + "\n")
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
    return card


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
    assert version is not None
    if version in versions:
        return version
    matches = [v for v in versions if v.startswith(version)]
    if len(matches) != 1:
        what = "no" if not matches else "more than one"
        raise ModelNotFoundError(f"{what} model version matches {version!r} in {model_dir}")
    return matches[0]


def read_card(path: Path) -> ModelCard:
    """The card of the version saved in `path`."""
    where = path / "meta.json"
    try:
        document = json.loads(where.read_text())
    except (OSError, ValueError) as exc:
        raise RecommenderError(f"the model card {where} is unreadable: {exc}") from None
    return ModelCard.from_json(document, where)


def list_models(model_dir: Path) -> list[dict[str, Any]]:
    """The card of every saved version (as JSON), oldest first, with `latest` marked."""
    try:
        latest = resolve_version(model_dir)
    except ModelNotFoundError:
        return []
    return [{**read_card(model_dir / version).to_json(), "version": version, "latest": version == latest}
            for version in _versions(model_dir)]


@dataclass(frozen=True)
class SavedModel:
    """A loaded version: the model, its id maps and its card."""

    path: Path
    model: Model
    user_ids: np.ndarray
    item_ids: np.ndarray
    card: ModelCard

    @property
    def version(self) -> str:
        return self.path.name


def load_model(model_dir: Path, version: str | None = None) -> SavedModel:
    """Load a saved version (default: latest) without refitting anything; truncated files and
    inconsistent shapes are a one-line RecommenderError."""
    import numpy as np

    from recommender.models.factory import model_class

    path = model_dir / resolve_version(model_dir, version)
    card = read_card(path)
    model = model_class(card.family).load(path)
    try:
        with np.load(path / "ids.npz", allow_pickle=False) as ids:
            user_ids, item_ids = ids["user_ids"], ids["item_ids"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise RecommenderError(f"the saved model {path} is unreadable (corrupt or truncated): {exc}") from None
    if model.n_items != len(item_ids) or model.n_users not in (None, len(user_ids)):
        raise RecommenderError(f"the saved model {path} is inconsistent: {model.n_users} x {model.n_items} in "
                               f"the model for {len(user_ids)} users and {len(item_ids)} items")
    return SavedModel(path, model, user_ids, item_ids, card)
