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

__all__ = ["MIN_SHARED_USERS", "RefreshReport", "fold_users", "refresh"]

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


def fold_users(model: Model, model_users: np.ndarray, model_items: np.ndarray, data: Interactions,
               confidence: csr_matrix, users: np.ndarray) -> tuple[Model, np.ndarray, dict[str, int]]:
    """A copy of `model` in which `users` (ids) are folded in again from their rows of `confidence`
    (over `data`'s users and items); users new to the model are appended. Returns the model, its
    user ids and counts: refolded, appended, new_anime (columns of `data` the model lacks, whose
    events are left out)."""
    from scipy.sparse import csr_matrix as csr

    rows = IdIndex(data.user_ids).positions(users)
    users, rows = users[rows >= 0], rows[rows >= 0]
    columns = IdIndex(model_items).positions(data.item_ids)
    known = columns >= 0
    sub = confidence[rows].tocsc()[:, np.flatnonzero(known)].tocsr()
    sub = csr((sub.data, columns[known][sub.indices], sub.indptr), shape=(len(rows), len(model_items)))
    sub.sort_indices()
    at = IdIndex(model_users).positions(users)
    new = at < 0
    counts = {"refolded": int((~new).sum()), "appended": int(new.sum()), "new_anime": int((~known).sum())}
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


def refresh(model_dir: Path, store: StoreReader, store_url: str | None = None, *, version: str | None = None,
            since: datetime | None = None, on_stage: Callable[[str], None] | None = None) -> RefreshReport:
    """Fold the users changed since the model's data was read (or `since`) into a new version."""
    from scipy.sparse import csr_matrix

    from recommender.data.events import apply_confidence
    from recommender.data.sources import load_interactions
    from recommender.registry import load_model, save_model

    lap = Laps()
    seconds = lap.seconds

    def stage(name: str) -> None:
        lap(name)
        if on_stage:
            on_stage(name)

    saved = load_model(model_dir, version)
    try:  # before anything is read: a family that cannot fold users in says so with no rows
        saved.model.with_users(csr_matrix((0, len(saved.item_ids)), dtype=np.float32), np.zeros(0, np.int64))
    except Unsupported:
        raise RecommenderError(f"model {saved.version} is {saved.model.family}, which cannot fold users in; "
                               "ALS, item-kNN and EASE models refresh: retrain with `recommend train`") from None
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
