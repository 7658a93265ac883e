"""Saved models: one folder per version under the model directory, a `latest` pointer, and the
model card, a typed and versioned record of what each version is.

    MODEL_DIR/
      latest                       text: the newest version's name
      20250101T120000Z-<fp8>/      one version (written to a temporary folder, then renamed)
        <family>.npz               the model's arrays (`Model.save`; ALS: implicit's own format)
        ids.npz                    user_ids[row], item_ids[column] (Kitsu ids for the store's data)
        meta.json                  the model card (`ModelCard.to_json`)
        history.npz, items.json    a file model's training rows and item names (`TrainingHistory`)
        results.csv, heatmap.png   the search's results and heatmap, when there was a search

Cards written before the card had a format (format 1: ALS only) are read as they are; a card of a
newer format than this code knows is refused with a one-line message. Serving needs only
`load_model(dir)`: the model, its id maps and card, no refit.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import socket
import time
import tokenize
import zipfile
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitsu_ingest.outputs import pid_alive
from recommender.data.events import EventWeights
from recommender.errors import ModelNotFoundError, RecommenderError

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from recommender.data.history import TrainingHistory
    from recommender.models.base import Model
    from recommender.protocol import TrainConfig

__all__ = ["CARD_FORMAT", "ModelCard", "SavedModel", "check_writable", "list_models", "load_folder", "load_model",
           "resolve_version", "save_model"]

LATEST = "latest"
CARD_FORMAT = 2
"""1: the first cards (ALS only, no family); 2: `family`, `format`, `families`, `search`, `margin` (and, when
saved by newer code, `intervals` and `margin_test`: optional, so older format-2 cards still load)."""


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
    families: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each family's best configuration: params, weights, validation and test figures."""
    search: dict[str, Any] = field(default_factory=dict)
    """How the search ran: mode, trials, pruned, seed, study, budget."""
    margin: float | None = None
    """How far the family kept beat the runner-up family on validation (relative)."""
    intervals: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    """{"validation" | "test": {family: {metric: [low, high]}}}: 95% bootstrap intervals over users
    (cards saved before them have none)."""
    margin_test: dict[str, Any] | None = None
    """The paired test of the kept family's margin over the runner-up, and whether they are within
    noise (`recommender.evaluation.uncertainty.margin_test`); None on older cards."""
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
                "timings": self.timings, "families": self.families, "search": self.search, "margin": self.margin,
                "intervals": self.intervals, "margin_test": self.margin_test}

    @classmethod
    def from_json(cls, document: Any, where: Path | str = "meta.json") -> ModelCard:
        """A card from meta.json (any format up to CARD_FORMAT); RecommenderError if it is not one."""
        from recommender.protocol import TrainConfig

        try:
            version = int(document.get("format", 1))
            if version > CARD_FORMAT:
                raise RecommenderError(f"the model card {where} has format {version}, newer than this code "
                                       f"reads ({CARD_FORMAT}): upgrade kitsu-recs or retrain the model")
            known = {f.name for f in fields(TrainConfig)}
            config = {k: v for k, v in document["config"].items() if k in known}
            config["baselines"] = tuple(config.get("baselines", ()))
            metrics = document["metrics"]
            _check_params(str(document.get("family", "als")), dict(document["params"]))
            return cls(
                family=str(document.get("family", "als")), params=dict(document["params"]),
                weights=EventWeights.from_dict(document["weights"]), config=TrainConfig(**config),
                validation=dict(metrics["validation"]), test=dict(metrics["test"]),
                fingerprint=str(document["fingerprint"]), shape=tuple(document["shape"]),
                nnz=int(document["nnz"]), source=dict(document["source"]),
                filters=dict(document.get("filters", {})), timings=dict(document.get("timings", {})),
                families=dict(document.get("families", {})), search=dict(document.get("search", {})),
                margin=document.get("margin"), intervals=dict(document.get("intervals") or {}),
                margin_test=dict(document["margin_test"]) if document.get("margin_test") else None,
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


def _check_params(family: str, params: dict[str, Any]) -> None:
    """ValueError unless the card names a known family and a confidence it can rebuild."""
    from recommender.data.events import TRANSFORMS
    from recommender.models.factory import FAMILIES

    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    if params.get("transform", "linear") not in TRANSFORMS:
        raise ValueError(f"unknown confidence transform {params.get('transform')!r}")
    if not isinstance(params.get("bm25", False), bool):
        raise ValueError(f"bm25 is {params.get('bm25')!r}, not true or false")


def check_writable(model_dir: Path) -> None:
    """Raise RecommenderError unless `model_dir` exists (or can be made) and is writable."""
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecommenderError(f"cannot create the model directory {model_dir}: {exc.strerror}") from None
    if not os.access(model_dir, os.W_OK | os.X_OK):
        raise RecommenderError(f"the model directory {model_dir} is not writable")


def save_model(model_dir: Path, model: Model, user_ids: np.ndarray, item_ids: np.ndarray, card: ModelCard,
               extra_files: dict[str, Path] | None = None, *, history: TrainingHistory | None = None,
               verify: Callable[[SavedModel], None] | None = None) -> ModelCard:
    """Save a version (atomically) and point `latest` at it; returns the card with its version.

    The version is written into `.saving-<pid>-<random>@<host>` and renamed at the end; its name is
    chosen at that moment: a rename onto a version another save has just made fails (that folder is
    not empty) and the next free name is taken, so concurrent saves never lose a model. Staging left
    by a killed save (its process on this host gone, or older than an hour) is removed first.
    `history` is what a file model carries for serving; `verify` is given the version as loaded
    back from its staging folder and may raise: then nothing is saved.
    """
    import numpy as np

    from recommender.data.ids import id_array

    check_writable(model_dir)
    _remove_stale(model_dir)
    now = datetime.now(UTC)
    base = f"{now:%Y%m%dT%H%M%SZ}-{card.fingerprint[:8] or 'model'}"
    card = replace(card, family=model.family, created_at=now.isoformat(timespec="seconds"))
    staging = model_dir / f"{_STAGING}{os.getpid()}-{secrets.token_hex(4)}@{socket.gethostname()}"
    staging.mkdir()
    try:
        model.save(staging)
        np.savez(staging / "ids.npz", user_ids=id_array(user_ids), item_ids=id_array(item_ids))
        for name, path in (extra_files or {}).items():
            if path.exists():
                shutil.copyfile(path, staging / name)
        if history is not None:
            history.save(staging)
        if verify is not None:
            _write_card(staging, card)
            verify(load_folder(staging))
        card = _rename_to_free_name(staging, model_dir, base, card)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _point_latest(model_dir, card.version)
    return card


_STAGING = ".saving-"
_STALE_AFTER = 3600.0
"""Seconds after which a staging folder or pointer file is taken as left by a killed save."""
_VERSION = re.compile(r"(?P<stamp>\d{8}T\d{6}Z)-(?P<fp>[^-]+)(?:-(?P<n>\d{1,6}))?")


def _rename_to_free_name(staging: Path, model_dir: Path, base: str, card: ModelCard) -> ModelCard:
    """Rename `staging` to the first free name of base, base-2, base-3..., after every version of
    the same second (whatever its data), so that the names order the saves; the card it holds
    (meta.json) names the version it ends up as."""
    stamp = base.partition("-")[0]
    first = 1 + max((_version_key(p.name)[1] for p in model_dir.glob(f"{stamp}-*")), default=0)
    for n in range(first, first + 10_000):
        version = base if n == 1 else f"{base}-{n}"
        if (model_dir / version).exists():
            continue
        card = replace(card, version=version)
        _write_card(staging, card)
        try:
            staging.rename(model_dir / version)
            return card
        except OSError as exc:  # another save took this name since: try the next one
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    raise RecommenderError(f"no free version name for {base} in {model_dir}")


def _write_card(folder: Path, card: ModelCard) -> None:
    (folder / "meta.json").write_text(json.dumps(card.to_json(), indent=2, default=str) + "\n")


def _point_latest(model_dir: Path, version: str) -> None:
    """Point `latest` at `version` (through a temporary file of this save's own), unless it names
    a newer version already: under a lock on the folder, so that of concurrent saves the newest wins."""
    import fcntl

    folder = os.open(model_dir, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        current = _pointer(model_dir)
        if _VERSION.fullmatch(current) and (model_dir / current).is_dir() \
                and _version_key(current) > _version_key(version):
            return
        temporary = model_dir / f".{LATEST}.{os.getpid()}-{secrets.token_hex(4)}@{socket.gethostname()}.tmp"
        try:
            temporary.write_text(version + "\n")
            os.replace(temporary, model_dir / LATEST)
        finally:
            temporary.unlink(missing_ok=True)
    finally:
        os.close(folder)  # and with it the lock


def _remove_stale(model_dir: Path) -> None:
    """Remove staging folders and pointer files of saves that were killed: their process is gone
    (the pid and host are in the name: another host's processes are not ours to see), or they are
    older than _STALE_AFTER."""
    here = socket.gethostname()
    for entry in model_dir.iterdir():
        if not entry.name.startswith((_STAGING, f".{LATEST}.")):
            continue
        owner = entry.name.removeprefix(_STAGING).removeprefix(f".{LATEST}.").removesuffix(".tmp")
        pid, host = owner.split("-")[0], owner.partition("@")[2] or here
        try:
            age = time.time() - entry.lstat().st_mtime
        except OSError:
            continue
        if age > _STALE_AFTER or (host == here and pid.isascii() and pid.isdigit() and not pid_alive(int(pid))):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _version_key(name: str) -> tuple[str, int, str]:
    """Versions in the order they were made: by time, then base-2 after base (not after base-10)."""
    match = _VERSION.fullmatch(name)
    return (match["stamp"], int(match["n"] or 1), match["fp"]) if match else (name, 0, "")


def _pointer(model_dir: Path) -> str:
    """The version `latest` names; "" when it is missing or unreadable (binary, a folder...)."""
    try:
        with (model_dir / LATEST).open("rb") as pointer:
            return pointer.read(256).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _versions(model_dir: Path) -> list[str]:
    try:
        if model_dir.exists() and not model_dir.is_dir():
            raise RecommenderError(f"the model directory {model_dir} is a file, not a folder: point MODEL_DIR "
                                   "(or --model-dir) at a folder")
        if not model_dir.is_dir():
            return []
        names = [p.name for p in model_dir.iterdir()
                 if not p.name.startswith(".") and p.is_dir() and (p / "meta.json").is_file()]
    except OSError as exc:
        raise RecommenderError(f"cannot read the model directory {model_dir}: {exc.strerror or exc}") from None
    return sorted(names, key=_version_key)


def resolve_version(model_dir: Path, version: str | None = None) -> str:
    """The version named (a prefix will do), or the `latest` one (the newest version when the
    `latest` pointer is missing, unreadable or names no saved version)."""
    from recommender.data.ids import shown

    versions = _versions(model_dir)
    if not versions:
        raise ModelNotFoundError(f"no saved model in {model_dir}: run `recommend train` first")
    if version in (None, LATEST):
        named = _pointer(model_dir)
        return named if named in versions else versions[-1]
    assert version is not None
    if version in versions:
        return version
    matches = [v for v in versions if v.startswith(version)]
    if len(matches) != 1:
        what = "no" if not matches else "more than one"
        raise ModelNotFoundError(f"{what} model version matches {shown(version)} in {model_dir}")
    return matches[0]


def read_card(path: Path) -> ModelCard:
    """The card of the version saved in `path`."""
    where = path / "meta.json"
    try:
        document = json.loads(where.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise RecommenderError(f"the model card {where} is unreadable: {exc}") from None
    return ModelCard.from_json(document, where)


def list_models(model_dir: Path) -> list[dict[str, Any]]:
    """The card of every saved version (as JSON), oldest first, with `latest` marked. A version
    whose card cannot be read is listed too, with its `error` and empty figures."""
    try:
        latest = resolve_version(model_dir)
    except ModelNotFoundError:
        return []
    listed = []
    for version in _versions(model_dir):
        try:
            card = read_card(model_dir / version).to_json()
        except RecommenderError as exc:
            card = {"error": str(exc), "created_at": "", "params": {}, "config": {},
                    "metrics": {"validation": {}, "test": {}}}
        listed.append({**card, "version": version, "latest": version == latest})
    return listed


@dataclass(frozen=True)
class SavedModel:
    """A loaded version: the model, its id maps and its card."""

    path: Path
    model: Model
    user_ids: np.ndarray
    item_ids: np.ndarray
    card: ModelCard
    history: TrainingHistory | None = None
    """A file model's training rows and item names (None for a store's model)."""

    @property
    def version(self) -> str:
        return self.path.name

    @property
    def from_file(self) -> bool:
        """Whether the model was trained on a file, or any data but the Kitsu store (then it answers
        from its own history, never from a store)."""
        return self.card.source.get("kind") != "store"


def load_model(model_dir: Path, version: str | None = None) -> SavedModel:
    """Load a saved version (default: latest) without refitting anything; truncated or corrupt
    files and inconsistent shapes are a one-line RecommenderError."""
    return load_folder(model_dir / resolve_version(model_dir, version))


def load_folder(path: Path) -> SavedModel:
    """Load the version saved in the folder `path` (see `load_model`)."""
    import numpy as np

    from recommender.data.history import TrainingHistory
    from recommender.models.factory import model_class

    card = read_card(path)
    try:
        model = model_class(card.family).load(path)
        with np.load(path / "ids.npz", allow_pickle=False) as ids:
            user_ids, item_ids = ids["user_ids"], ids["item_ids"]
    except RecommenderError:
        raise
    except _CORRUPT as exc:
        reason = "a garbled array header" if isinstance(exc, tokenize.TokenError | SyntaxError) else \
            (str(exc).splitlines() or [type(exc).__name__])[0]
        raise RecommenderError(f"the saved model {path} is unreadable (corrupt or truncated): {reason}") from None
    if user_ids.ndim != 1 or item_ids.ndim != 1 or model.n_items != len(item_ids) \
            or model.n_users not in (None, len(user_ids)):
        raise RecommenderError(f"the saved model {path} is inconsistent: {model.n_users} x {model.n_items} in "
                               f"the model for {len(user_ids)} users and {len(item_ids)} items")
    history = TrainingHistory.load(path)
    if history is not None and history.matrix.shape != (len(user_ids), len(item_ids)):
        raise RecommenderError(f"the saved model {path} is inconsistent: its training history is "
                               f"{history.matrix.shape[0]} x {history.matrix.shape[1]} for {len(user_ids)} users "
                               f"and {len(item_ids)} items")
    return SavedModel(path, model, user_ids, item_ids, card, history)


_CORRUPT = (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, tokenize.TokenError, SyntaxError,
            TypeError, IndexError, MemoryError, OverflowError)
"""What numpy raises on a damaged .npz (a cut or garbled header is even a TokenError or SyntaxError)."""
