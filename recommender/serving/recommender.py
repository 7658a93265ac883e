"""The recommendation service: a saved model plus store lookups, behind the CLI and the HTTP API.

    Recommender.load(model_dir, version, store)   load and check a saved model (no refit)
      .user(id, n, include_planned, explain)      top N for a user: the model's factors, or the
                                                  user folded in from the store (implicit's
                                                  recalculate_user), or popular anime (fallback)
      .similar(anime_id, n)                       the most similar anime (cosine of item factors)
      .find_anime("12" | "title words")           a Kitsu id, or the best title match in the model

Scoring is numpy only; implicit (slow to import) is loaded only to fold a user in or to explain.
Never recommended: anything in the user's library or favourites in the store (planned-only
entries may be allowed back).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.errors import RecommenderError
from recommender.lookup import AnimeInfo, StoreReader, UserEvents
from recommender.topn import IdIndex, top_n

if TYPE_CHECKING:
    from implicit.cpu.als import AlternatingLeastSquares
    from numpy.typing import NDArray

    from recommender.registry import SavedModel

__all__ = ["FALLBACK", "FOLDED_IN", "MODEL", "Contribution", "NotFound", "Recommendation",
           "Recommender", "SimilarResult", "UserResult", "load_checked"]

MODEL, FOLDED_IN, FALLBACK = "model", "folded-in", "fallback"


class NotFound(RecommenderError):
    """An unknown user or anime (HTTP 404)."""


@dataclass(frozen=True)
class Contribution:
    """One of the user's anime and how much of a recommendation's score it accounts for."""

    anime_id: int
    title: str | None
    score: float


@dataclass(frozen=True)
class Recommendation:
    anime_id: int
    title: str | None
    subtype: str | None
    score: float
    because: tuple[Contribution, ...] | None = None


@dataclass(frozen=True)
class UserResult:
    """Recommendations for a user; `source` says how they were made (model, folded-in, fallback)."""

    user_id: int
    source: str
    version: str
    items: list[Recommendation] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SimilarResult:
    anime: AnimeInfo
    version: str
    items: list[Recommendation] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_checked(model_dir: Path, version: str | None = None) -> SavedModel:
    """`registry.load_model`, with truncated files and inconsistent shapes as RecommenderError."""
    import zipfile

    from recommender.registry import load_model, resolve_version

    try:
        saved = load_model(model_dir, version)
    except (zipfile.BadZipFile, EOFError) as exc:
        path = model_dir / resolve_version(model_dir, version)
        raise RecommenderError(f"the saved model {path} is unreadable (corrupt or truncated): "
                               f"{exc}") from None
    users, items = saved.user_factors, saved.item_factors
    if users.ndim != 2 or items.ndim != 2 or users.shape[1] != items.shape[1] \
            or len(users) != len(saved.user_ids) or len(items) != len(saved.item_ids):
        raise RecommenderError(f"the saved model {saved.path} is inconsistent: factors "
                               f"{users.shape} / {items.shape} for {len(saved.user_ids)} users "
                               f"and {len(saved.item_ids)} items")
    return saved


class Recommender:
    """A loaded model and the store it answers from (thread-safe for reading)."""

    def __init__(self, model: SavedModel, store: StoreReader) -> None:
        self.model = model
        self.store = store
        self.loaded_at = time.time()
        self.users = IdIndex(model.user_ids)
        self.items = IdIndex(model.item_ids)
        self.item_factors = np.asarray(model.item_factors, np.float32)
        self._titles: dict[int, AnimeInfo] | None = None
        self._normed: NDArray[np.float32] | None = None
        self._popular: tuple[list[tuple[int, int]], int] | None = None
        self._als: AlternatingLeastSquares | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path, version: str | None, store: StoreReader) -> Recommender:
        return cls(load_checked(model_dir, version), store)

    @property
    def version(self) -> str:
        return self.model.version

    def warm(self) -> None:
        """Do the one-off work now (titles, norms, popularity, implicit), not in a request."""
        self._titles = self.store.anime(int(i) for i in self._kitsu_ids(self.model.item_ids))
        self._item_norms()
        self._popular_list()
        self._model()

    # -- users ---------------------------------------------------------------------------
    def user(self, user_id: int, n: int = 10, *, include_planned: bool = False,
             explain: bool = False) -> UserResult:
        """Top `n` for `user_id`; NotFound if neither the model nor the store knows them."""
        events = self.store.user_events(user_id)
        row = self.users.position(user_id)
        excluded = self.items.positions(sorted(events.excluded(include_planned)))
        excluded = excluded[excluded >= 0]
        if row >= 0:
            vector, source = self.model.user_factors[row], MODEL
        elif not events.known:
            raise NotFound(f"user {user_id} is unknown: neither in model {self.version} nor in "
                           "the store (crawl them, or use --fetch)")
        else:
            confidence = self._confidence(events)
            if confidence.nnz == 0:
                return self._fallback(user_id, n, events.excluded(include_planned))
            vector, source = self._model().recalculate_user(0, confidence), FOLDED_IN
        columns, scores = top_n(self.item_factors @ np.asarray(vector, np.float32), n, excluded)
        because = self._explain(events, columns) if explain else None
        return UserResult(user_id, source, self.version, self._describe(columns, scores, because))

    def _confidence(self, events: UserEvents) -> Any:
        """The user's row of the confidence matrix the model was fitted on, over model items."""
        from scipy.sparse import csr_matrix

        from recommender.events import apply_confidence

        weights = dict(self.model.meta.get("weights") or {})
        favorite = float(weights.pop("favorite", 5.0))
        strengths: dict[int, float] = {}
        for anime, status in events.entries:
            strengths[anime] = strengths.get(anime, 0.0) + float(weights.get(status, 0.0))
        for anime in events.favorites:
            strengths[anime] = strengths.get(anime, 0.0) + favorite
        ids = np.array(sorted(a for a, s in strengths.items() if s > 0), np.int64)
        columns = self.items.positions(ids)
        keep = columns >= 0
        values = np.array([strengths[int(a)] for a in ids[keep]], np.float32)
        order = np.argsort(columns[keep])
        row = csr_matrix((values[order], columns[keep][order], [0, int(keep.sum())]),
                         shape=(1, len(self.model.item_ids)), dtype=np.float32)
        params = self.model.meta.get("params") or {}
        # BM25 needs every user's row; one user folded in gets the transform alone.
        return apply_confidence(row, params.get("transform", "linear"), False)

    def _explain(self, events: UserEvents,
                 columns: NDArray[np.int64]) -> list[tuple[Contribution, ...]]:
        confidence = self._confidence(events)
        if confidence.nnz == 0:
            return [() for _ in columns]
        als, weights, out = self._model(), None, []
        for column in columns:
            _, top, weights = als.explain(0, confidence, int(column), user_weights=weights, N=3)
            out.append(tuple(Contribution(int(self.model.item_ids[c]), None, float(s))
                             for c, s in top))
        return out

    def _fallback(self, user_id: int, n: int, excluded: set[int]) -> UserResult:
        candidates = self._popular_list(n + len(excluded))
        popular = [(a, c) for a, c in candidates if a not in excluded][:n]
        info = self._info(a for a, _ in popular)
        items = [Recommendation(a, *_title(info, a), float(c)) for a, c in popular]
        return UserResult(user_id, FALLBACK, self.version, items)

    def _popular_list(self, at_least: int = 100) -> list[tuple[int, int]]:
        """The store's most common anime, cached; asked again only when more are wanted."""
        cached, asked = self._popular or (None, 0)
        if cached is None or (at_least > asked and len(cached) == asked):
            asked = max(at_least, 100)
            cached = self.store.popular(asked)
            self._popular = (cached, asked)
        return cached

    # -- anime -----------------------------------------------------------------------------
    def find_anime(self, query: str) -> int:
        """The model column of an anime given by Kitsu id, or by title (best match in the model)."""
        text = query.strip()
        if text.isdigit():
            column = self.items.position(int(text))
            if column < 0:
                raise NotFound(f"anime {text} is not in model {self.version}")
            return column
        if not text:
            raise RecommenderError("give an anime id or part of its title")
        matches = self.store.search(text)
        for match in matches:
            column = self.items.position(match.id)
            if column >= 0:
                return column
        what = "in the store" if not matches else f"in model {self.version} (matches: " + \
            ", ".join(f"{m.title} ({m.id})" for m in matches[:3]) + ")"
        raise NotFound(f"no anime titled like {text!r} {what}")

    def similar(self, anime: int | str, n: int = 10) -> SimilarResult:
        """The `n` anime nearest to `anime` (a Kitsu id, or a title to search) by cosine."""
        column = self.find_anime(str(anime))
        normed = self._item_norms()
        columns, scores = top_n(normed @ normed[column], n, [column])
        anime_id = int(self.model.item_ids[column])
        info = self._info([anime_id, *(int(self.model.item_ids[c]) for c in columns)])
        return SimilarResult(AnimeInfo(anime_id, *_title(info, anime_id)), self.version,
                             self._describe(columns, scores, None, info))

    def _item_norms(self) -> NDArray[np.float32]:
        if self._normed is None:
            norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
            self._normed = self.item_factors / np.where(norms > 0, norms, 1.0)
        return self._normed

    # -- helpers ---------------------------------------------------------------------------
    def _model(self) -> AlternatingLeastSquares:
        with self._lock:
            if self._als is None:
                try:
                    self._als = self.model.als()
                except (OSError, ValueError, KeyError) as exc:
                    raise RecommenderError(f"the saved model {self.model.path} is unreadable: "
                                           f"{exc}") from None
            return self._als

    def _kitsu_ids(self, ids: Any) -> list[int]:
        return [int(i) for i in ids if str(i).isdigit()]

    def _info(self, anime_ids: Any) -> dict[int, AnimeInfo]:
        wanted = list(anime_ids)
        if self._titles is not None:
            return {a: self._titles[a] for a in wanted if a in self._titles}
        return self.store.anime(wanted)

    def _describe(self, columns: NDArray[np.int64], scores: NDArray[np.float32],
                  because: list[tuple[Contribution, ...]] | None,
                  info: dict[int, AnimeInfo] | None = None) -> list[Recommendation]:
        ids = [self._kitsu_id(c) for c in columns]
        seeds = [c.anime_id for group in because or [] for c in group]
        info = info if info is not None else self._info(self._kitsu_ids([*ids, *seeds]))
        out = []
        for i, (anime, score) in enumerate(zip(ids, scores.tolist(), strict=True)):
            reasons = None
            if because is not None:
                reasons = tuple(Contribution(c.anime_id, _title(info, c.anime_id)[0], c.score)
                                for c in because[i])
            out.append(Recommendation(anime, *_title(info, anime), float(score), reasons))
        return out

    def _kitsu_id(self, column: int) -> Any:
        value = self.model.item_ids[column]
        return int(value) if self.items.numeric else str(value)


def _title(info: dict[int, AnimeInfo], anime_id: Any) -> tuple[str | None, str | None]:
    found = info.get(anime_id) if isinstance(anime_id, int) else None
    return (found.title, found.subtype) if found else (None, None)
