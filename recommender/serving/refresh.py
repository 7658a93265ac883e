"""Fresh without retraining: fold the users whose libraries changed into a new model version.

    report = refresh(model_dir, store, store_url)      # after `kitsu-ingest crawl --since ...`

The users a crawl touched after the model's data was read (`StoreReader.users_changed_since`,
from the time in the model card) are folded in again from their rows of today's confidence
matrix, all else held fixed (`Model.with_users`): for ALS their factors are solved again with the
item factors fixed (implicit's `recalculate_user`, the exact least-squares step of an ALS
iteration); for item-kNN and EASE, whose users are their rows, the rows are replaced. Users new to
the model are appended. The confidence matrix is built exactly as training builds it (the card's
weights, filters, transform and BM25, over every user), so a refreshed user is scored as if the
model had been fitted with them. Anime new to the model cannot be scored without a full training:
their events are left out and counted.

A model trained on a file is refreshed from the updated file (`refresh_file`): the users whose
rows differ from the training rows the model carries, and the file's new users, are folded in,
and the carried rows are updated with them.

Popularity models are refused in one line: they have no users to fold in.
The new version's card is the old one's with the new data's fingerprint, shape and counts, and a
`refresh` record (base version, users refolded and appended, anime left out); its test figures
are still the base model's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kitsu_ingest.laps import Laps
from recommender.data.ids import IdIndex
from recommender.errors import RecommenderError
from recommender.models.base import Unsupported

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from recommender.data.interactions import Interactions
    from recommender.data.store import StoreReader
    from recommender.models.base import Model
    from recommender.registry import SavedModel

__all__ = ["MIN_SHARED_USERS", "RefreshReport", "fold_users", "refresh", "refresh_file"]

MIN_SHARED_USERS = 0.5
"""A store that holds fewer than this share of the model's users is other data than it was trained on."""


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh did (`version` is None when nothing changed and no version was saved)."""

    base: str
    version: str | None
    since: str
    changed_users: int
    refolded: int
    appended: int
    new_anime: int
    seconds: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _over_model_items(matrix: csr_matrix, rows: np.ndarray, data: Interactions, model_items: np.ndarray) -> tuple[
        csr_matrix, int]:
    """`rows` of `matrix` (over `data`'s items) as rows over the model's items (sorted), and how
    many of `data`'s items the model lacks (their entries are left out)."""
    from scipy.sparse import csr_matrix as csr

    columns = IdIndex(model_items).positions(data.item_ids)
    known = columns >= 0
    sub = matrix[rows].tocsc()[:, np.flatnonzero(known)].tocsr()
    sub = csr((sub.data, columns[known][sub.indices], sub.indptr), shape=(len(rows), len(model_items)))
    sub.sort_indices()
    return sub, int((~known).sum())


def fold_users(model: Model, model_users: np.ndarray, model_items: np.ndarray, data: Interactions,
               confidence: csr_matrix, users: np.ndarray) -> tuple[Model, np.ndarray, dict[str, int]]:
    """A copy of `model` in which `users` (ids) are folded in again from their rows of `confidence`
    (over `data`'s users and items); users new to the model are appended. Returns the model, its
    user ids and counts: refolded, appended, new_anime (columns of `data` the model lacks, whose
    events are left out)."""
    rows = IdIndex(data.user_ids).positions(users)
    users, rows = users[rows >= 0], rows[rows >= 0]
    sub, new_items = _over_model_items(confidence, rows, data, model_items)
    at = IdIndex(model_users).positions(users)
    new = at < 0
    counts = {"refolded": int((~new).sum()), "appended": int(new.sum()), "new_anime": new_items}
    return model.with_users(sub, at), np.concatenate([model_users, users[new]]), counts


def _read_at(saved: SavedModel) -> datetime:
    """When the model's data was read (naive UTC): the card's read_at, else when it was saved."""
    stamp = saved.card.source.get("read_at") or saved.card.created_at
    try:
        when = datetime.fromisoformat(str(stamp))
    except ValueError:
        raise RecommenderError(f"model {saved.version} does not say when its data was read; "
                               "give --since, or retrain with `recommend train`") from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def _check_same_data(saved: SavedModel, store_url: str | None, data: Interactions) -> None:
    from kitsu_ingest.store.engine import describe_url

    card = saved.card
    if card.source.get("kind") != "store":
        raise RecommenderError(f"model {saved.version} was trained on a file, not on the store: "
                               "retrain it with `recommend train` to refresh it from the store")
    trained_on, here = card.source.get("url"), describe_url(store_url) if store_url else None
    if trained_on and here and trained_on != here:
        raise RecommenderError(f"model {saved.version} was trained on {trained_on}, not on {here}: "
                               "refresh it against its own store, or train a model on this one")
    shared = float(np.isin(saved.user_ids, data.user_ids).mean()) if len(saved.user_ids) else 0.0
    if shared < MIN_SHARED_USERS:
        raise RecommenderError(f"model {saved.version} was trained on other data: only {shared:.0%} of its "
                               "users are in this store; train a model on it with `recommend train`")


class _Stages(Laps):
    """Laps that also tell `on_stage` each stage's name as it ends."""

    def __init__(self, on_stage: Callable[[str], None] | None) -> None:
        super().__init__()
        self.on_stage = on_stage

    def __call__(self, name: str) -> None:
        super().__call__(name)
        if self.on_stage:
            self.on_stage(name)


def _refreshable(model_dir: Path, version: str | None) -> SavedModel:
    """The version, if its family can fold users in (asked before anything is read)."""
    from scipy.sparse import csr_matrix

    from recommender.registry import load_model

    saved = load_model(model_dir, version)
    try:
        saved.model.with_users(csr_matrix((0, len(saved.item_ids)), dtype=np.float32), np.zeros(0, np.int64))
    except Unsupported:
        raise RecommenderError(f"model {saved.version} is {saved.model.family}, which cannot fold users in; "
                               "ALS, item-kNN and EASE models refresh: retrain with `recommend train`") from None
    return saved


def refresh_file(model_dir: Path, interactions: Path | None = None, *, version: str | None = None,
                 on_stage: Callable[[str], None] | None = None) -> RefreshReport:
    """Fold the users whose rows of the updated file (the card's file, or `interactions` read
    with the card's columns) differ from the model's training rows, and the file's new users, into
    a new version of a model trained on a file."""
    from dataclasses import replace as changed

    from recommender.data.events import apply_confidence
    from recommender.data.history import TrainingHistory
    from recommender.data.sources import load_interactions, source_from_dict
    from recommender.models.base import with_rows
    from recommender.registry import save_model
    from recommender.serving.catalogue import catalogue_for

    lap = _Stages(on_stage)
    saved = _refreshable(model_dir, version)
    spec = source_from_dict(saved.card.source)
    if spec is None:
        raise RecommenderError(f"model {saved.version} was trained on the store: refresh it from the store "
                               "(without --interactions)")
    catalogue_for(saved, None)  # a file model saved without its training rows says so
    assert saved.history is not None
    if interactions is not None:
        spec = changed(spec, path=str(interactions))
    card = saved.card
    data = load_interactions(spec, card.weights, min_user_items=card.filters.get("min_user_items", 1),
                             min_item_users=card.filters.get("min_item_users", 1))
    lap("read")
    rows, new_anime = _over_model_items(data.matrix, np.arange(data.shape[0]), data, saved.item_ids)
    at = IdIndex(saved.user_ids).positions(data.user_ids)
    before = saved.history.matrix[np.maximum(at, 0)]
    differs = np.diff((before != rows).tocsr().indptr) > 0
    wanted = np.flatnonzero(np.where(at >= 0, differs, rows.getnnz(axis=1) > 0))
    lap("changed_users")
    since = f"the training rows of {saved.version}"
    if not len(wanted):
        return RefreshReport(saved.version, None, since, 0, 0, 0, new_anime, lap.seconds)
    confidence = apply_confidence(data.matrix, card.params.get("transform", "linear"),
                                  bool(card.params.get("bm25", False)))
    model, user_ids, counts = fold_users(saved.model, saved.user_ids, saved.item_ids, data, confidence,
                                         data.user_ids[wanted])
    history = TrainingHistory(with_rows(saved.history.matrix, rows[wanted], at[wanted]), saved.history.titles)
    lap("fold_in")
    record = {"base": saved.version, "since": since, "changed_users": len(wanted), **counts}
    new_card = replace(card, fingerprint=data.fingerprint(), shape=(len(user_ids), len(saved.item_ids)),
                       nnz=int(history.matrix.nnz), search={**card.search, "refresh": record},
                       source={**card.source, "path": spec.as_dict()["path"]})
    out = save_model(model_dir, model, user_ids, saved.item_ids, new_card, history=history)
    lap("save")
    return RefreshReport(saved.version, out.version, since, len(wanted), counts["refolded"], counts["appended"],
                         counts["new_anime"], lap.seconds)


def refresh(model_dir: Path, store: StoreReader, store_url: str | None = None, *, version: str | None = None,
            since: datetime | None = None, on_stage: Callable[[str], None] | None = None) -> RefreshReport:
    """Fold the users changed since the model's data was read (or `since`) into a new version."""
    from recommender.data.events import apply_confidence
    from recommender.data.sources import load_interactions
    from recommender.registry import save_model

    stage = _Stages(on_stage)
    seconds = stage.seconds

    saved = _refreshable(model_dir, version)
    since = since or _read_at(saved)
    changed = store.users_changed_since(since)
    stage("changed_users")
    if not len(changed):
        return RefreshReport(saved.version, None, since.isoformat(), 0, 0, 0, 0, seconds)
    card = saved.card
    read_at = datetime.now(UTC).replace(tzinfo=None)
    data = load_interactions(None, card.weights, store=store, min_user_items=card.filters.get("min_user_items", 1),
                             min_item_users=card.filters.get("min_item_users", 1))
    stage("read")
    _check_same_data(saved, store_url, data)
    confidence = apply_confidence(data.matrix, card.params.get("transform", "linear"),
                                  bool(card.params.get("bm25", False)))
    stage("confidence")
    model, user_ids, counts = fold_users(saved.model, saved.user_ids, saved.item_ids, data, confidence, changed)
    stage("fold_in")
    record = {"base": saved.version, "since": since.isoformat(), "changed_users": len(changed), **counts}
    new_card = replace(card, fingerprint=data.fingerprint(), shape=(len(user_ids), len(saved.item_ids)),
                       nnz=data.nnz, search={**card.search, "refresh": record},
                       source={**card.source, "read_at": read_at.isoformat(timespec="seconds")})
    out = save_model(model_dir, model, user_ids, saved.item_ids, new_card)
    stage("save")
    return RefreshReport(saved.version, out.version, since.isoformat(), len(changed), counts["refolded"],
                         counts["appended"], counts["new_anime"], seconds)
