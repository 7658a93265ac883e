"""The recommendation service: a saved model plus its catalogue, behind the CLI and the HTTP API.

    Recommender.load(model_dir, version, store)   load and check a saved model (no refit)
      .user(id, n, include_planned, explain)      top N for a user: the model's scores, or the
                                                  user folded in from the store (ALS: implicit's
                                                  recalculate_user), or popular anime (fallback)
      .similar(anime_id, n)                       the most similar anime (the model's similarity)
      .find_anime("12" | "title words")           a Kitsu id (a file model's item key), or the
                                                  best title match in the model

The catalogue (`recommender.serving.catalogue`) is the store for a model trained on the store, and
the model's own training history for one trained on a file (a store beside it is never read).
Scoring is numpy only; implicit (slow to import) is loaded only to fold a user in or to explain.
Never recommended: anything in the user's library or favourites (a file model: their training
rows); planned-only entries may be allowed back. Items a model does not score (EASE beyond its
`max_items`) score -inf and are simply left out. A model whose arrays or scores are NaN or +inf
(NaN factors, say, from absurd weights) is a BrokenModel error, never an empty answer: its one
line says to retrain.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recommender.data.ids import MAX_ID, IdIndex, parse_id, parse_key, shown
from recommender.data.store import AnimeInfo, UserEvents
from recommender.errors import RecommenderError
from recommender.models.als import ALS
from recommender.models.base import Unsupported
from recommender.ranking import top_n_row
from recommender.serving.catalogue import catalogue_for

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from recommender.data.store import StoreReader
    from recommender.models.base import Model
    from recommender.registry import SavedModel
    from recommender.serving.catalogue import Catalogue

__all__ = ["FALLBACK", "FOLDED_IN", "MODEL", "BadRequest", "BrokenModel", "Contribution", "NotFound",
           "Recommendation", "Recommender", "SimilarResult", "UserResult", "is_finite"]

Source = Literal["model", "folded-in", "fallback"]
MODEL: Source = "model"
FOLDED_IN: Source = "folded-in"
FALLBACK: Source = "fallback"


def is_finite(model: Model) -> bool:
    """Whether every float array of `model` (factors, weights, counts) is finite."""
    return all(np.isfinite(a).all() for a in model.arrays().values()
               if isinstance(a, np.ndarray) and a.dtype.kind in "fc")


class NotFound(RecommenderError):
    """An unknown user or anime (HTTP 404)."""

    http_status = 404


class BadRequest(RecommenderError):
    """A malformed id or question (HTTP 400)."""

    http_status = 400


class BrokenModel(RecommenderError):
    """The model's scores are not finite numbers: it cannot answer until it is retrained."""

    def __init__(self, version: str) -> None:
        super().__init__(f"model {version} is broken: its scores are not finite numbers (NaN or infinite "
                         "factors); retrain it with `recommend train`")


class Contribution(BaseModel):
    """One of the user's anime and how much of a recommendation's score it accounts for."""

    model_config = ConfigDict(frozen=True)

    anime_id: int | str = Field(description="Kitsu id (a file model's item key)")
    title: str | None
    score: float


class Recommendation(BaseModel):
    """A recommended (or similar) anime."""

    model_config = ConfigDict(frozen=True)

    anime_id: int | str = Field(description="Kitsu id (a string for a model trained on a file's keys)")
    title: str | None = Field(description="null when the anime is not in the store (or the model's items file)")
    subtype: str | None
    score: float = Field(description="The model's score; users holding it for the fallback; cosine for similar")
    because: tuple[Contribution, ...] | None = Field(None, description="With explain=true: what drove it")


class UserResult(BaseModel):
    """Recommendations for a user; `source` says how they were made."""

    model_config = ConfigDict(frozen=True)

    user_id: int | str = Field(description="Kitsu user id (a file model's user key)")
    source: Source = Field(
        description=f"{MODEL}: the model knows the user; {FOLDED_IN}: folded in from the store; "
                    f"{FALLBACK}: nothing to go on, so popular anime")
    version: str = Field(description="The model version that answered")
    items: list[Recommendation] = Field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """As JSON holds it."""
        return self.model_dump(mode="json")


class SimilarResult(BaseModel):
    """The anime most similar to one."""

    model_config = ConfigDict(frozen=True)

    anime: AnimeInfo
    version: str = Field(description="The model version that answered")
    items: list[Recommendation] = Field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """As JSON holds it."""
        return self.model_dump(mode="json")


class Recommender:
    """A loaded model and the catalogue it answers from (thread-safe for reading)."""

    def __init__(self, saved: SavedModel, catalogue: Catalogue) -> None:
        self.saved = saved
        self.model = saved.model
        self.card = saved.card
        self.catalogue = catalogue
        self.loaded_at = time.time()
        self.users = IdIndex(saved.user_ids)
        self.items = IdIndex(saved.item_ids)
        self._titles: dict[int, AnimeInfo] | None = None
        self._popular: tuple[list[tuple[int, int]], int] | None = None
        self._sound: bool | None = None

    @classmethod
    def load(cls, model_dir: Path, version: str | None, store: StoreReader | None) -> Recommender:
        """The version (default: latest) with its catalogue: `store` for a store's model (a file
        model never reads it, and needs none)."""
        from recommender.registry import load_model

        saved = load_model(model_dir, version)
        return cls(saved, catalogue_for(saved, store))

    @property
    def version(self) -> str:
        return self.saved.version

    @property
    def path(self) -> Path:
        return self.saved.path

    def warm(self) -> None:
        """Do the one-off work every request needs now (check, titles, norms, popularity), not in
        a request; BrokenModel if the model's arrays are not finite."""
        self._check_sound()
        self._titles = self.catalogue.anime(self._kitsu_ids(self.saved.item_ids))
        if isinstance(self.model, ALS):
            self.model.normed_items()
        self._popular_list()

    def rehearse(self) -> None:
        """Fold in and explain one made-up user, so that the first real one does not pay for what
        that path loads once (pandas, implicit, LAPACK: 0.35 s of the first explained answer on
        the quickstart's model). Slow to start, so a server runs it in the background."""
        if not len(self.saved.item_ids):
            return
        first = self._kitsu_id(0)
        events = UserEvents(0, True, ((first, "completed"),), (), None if not self.saved.from_file else (1.0,))
        confidence = self._confidence(events)
        with contextlib.suppress(Unsupported):
            columns, _ = top_n_row(self.model.fold_in(confidence), 1)
            self._explain(confidence, columns)

    # -- users ---------------------------------------------------------------------------
    def user_key(self, user: int | str) -> int | str:
        """The user `user` names, as the model's user ids are typed: a Kitsu id (1 to 2**63 - 1)
        for a store's model, a file's key otherwise; BadRequest if it cannot be one."""
        return self._key(user, self.users.numeric, "user", "a Kitsu user id such as 70211")

    def item_key(self, item: int | str) -> int | str:
        """The item `item` names by id (not by title), typed as `user_key` types users."""
        return self._key(item, self.items.numeric, "anime", "a Kitsu anime id such as 1")

    def _key(self, value: int | str, numeric: bool, what: str, example: str) -> int | str:
        if self.saved.from_file:
            key = parse_key(value, numeric)
        else:
            key = value if isinstance(value, int) and 1 <= value <= MAX_ID else parse_id(str(value))
        if key is None:
            kind = example if not self.saved.from_file else f"{'an integer' if numeric else 'a'} {what} key of the file"
            raise BadRequest(f"{shown(value)} is not a{'n' if what == 'anime' else ''} {what} id: give {kind}")
        return key

    def user(self, user: int | str, n: int = 10, *, include_planned: bool = False,
             explain: bool = False) -> UserResult:
        """Top `n` for `user` (see `user_key`); NotFound if neither the model nor its catalogue
        knows them."""
        user_id = self.user_key(user)
        events = self.catalogue.user_events(user_id)
        row = self.users.position(user_id)
        excluded = self.items.positions(sorted(events.excluded(include_planned), key=str))
        excluded = excluded[excluded >= 0]
        confidence = None
        if row >= 0:
            self._check_sound()
            scores, source = self.model.score(np.array([row]))[0], MODEL
            if np.isnan(scores).any() or np.isposinf(scores).any():  # -inf: an item the model does not score
                raise BrokenModel(self.version)
        elif self.saved.from_file:
            raise NotFound(f"user {shown(user_id)} is not in model {self.version} (trained on a file: "
                           "`recommend refresh --interactions FILE` adds the file's new users)")
        elif not events.known:
            raise NotFound(f"user {user_id} is unknown: neither in model {self.version} nor in "
                           "the store (crawl them, or use --fetch)")
        else:
            confidence = self._confidence(events)
            if confidence.nnz == 0:
                return self._fallback(user_id, n, events.excluded(include_planned))
            self._check_sound()
            scores, source = self.model.fold_in(confidence), FOLDED_IN
        columns, values = top_n_row(scores, n, excluded)
        because = self._explain(self._confidence(events) if confidence is None else confidence,
                                columns) if explain else None
        return UserResult(user_id=user_id, source=source, version=self.version,
                          items=self._describe(columns, values, because))

    def _confidence(self, events: UserEvents) -> Any:
        """The user's row of the confidence matrix the model was fitted on, over model items: their
        events weighted and summed as training sums them (pairs that come to nothing left out);
        a file user's training strengths as they are."""
        from scipy.sparse import csr_matrix

        from recommender.data.events import FAVORITE, apply_confidence, kind_strengths

        if events.strengths is not None:
            strengths = np.asarray(events.strengths, np.float32)
        else:
            kinds = (*dict.fromkeys(status for _, status in events.entries), FAVORITE)
            codes = np.array([kinds.index(status) for _, status in events.entries]
                             + [len(kinds) - 1] * len(events.favorites), np.int64)
            strengths = kind_strengths(codes, kinds, self.card.weights)
        columns = self.items.positions([anime for anime, _ in events.entries] + list(events.favorites))
        keep = columns >= 0
        row = csr_matrix((strengths[keep], (np.zeros(int(keep.sum()), np.int64), columns[keep])),
                         shape=(1, len(self.saved.item_ids)), dtype=np.float32)
        row.sum_duplicates()  # pairs summing to zero or less are left out by apply_confidence
        # BM25 needs every user's row; one user folded in gets the transform alone.
        return apply_confidence(row, self.card.params.get("transform", "linear"), False)

    def _explain(self, confidence: Any, columns: NDArray[np.int64]) -> list[tuple[Contribution, ...]]:
        if confidence.nnz == 0:
            return [() for _ in columns]
        reasons = self.model.explain(confidence, columns)
        return [tuple(Contribution(anime_id=self._kitsu_id(c), title=None, score=s) for c, s in top) for top in reasons]

    def _fallback(self, user_id: Any, n: int, excluded: set[Any]) -> UserResult:
        candidates = self._popular_list(n + len(excluded))
        popular = [(a, c) for a, c in candidates if a not in excluded][:n]
        info = self._info(a for a, _ in popular)
        items = [Recommendation(anime_id=a, title=_title(info, a)[0], subtype=_title(info, a)[1], score=float(c),
                                because=None) for a, c in popular]
        return UserResult(user_id=user_id, source=FALLBACK, version=self.version, items=items)

    def _popular_list(self, at_least: int = 100) -> list[tuple[Any, int]]:
        """The catalogue's most common anime, cached; asked again only when more are wanted."""
        cached, asked = self._popular or (None, 0)
        if cached is None or (at_least > asked and len(cached) == asked):
            asked = max(at_least, 100)
            cached = self.catalogue.popular(asked)
            self._popular = (cached, asked)
        return cached

    # -- anime -----------------------------------------------------------------------------
    def find_anime(self, query: str) -> int:
        """The model column of an anime given by Kitsu id (a file model's item key), or by title
        (the best match in the model)."""
        text = query.strip()
        if not self.items.numeric and (column := self.items.position(text)) >= 0:
            return column
        if self.saved.from_file and self.items.numeric and (key := parse_key(text, True)) is not None:
            column = self.items.position(key)
            if column < 0:
                raise NotFound(f"item {text} is not in model {self.version}")
            return column
        if text.isascii() and text.isdigit():
            anime_id = parse_id(text)
            column = -1 if anime_id is None else self.items.position(anime_id)
            if column < 0:
                raise NotFound(f"anime {text if anime_id else shown(text)} is not in model {self.version}")
            return column
        if not text:
            raise BadRequest("give an anime id or part of its title")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes of the command line, kept as surrogates
            raise BadRequest(f"the title {shown(text)} is not UTF-8 text: check the terminal's "
                                   "encoding") from None
        if len(text) > _MAX_TITLE:
            raise BadRequest(f"a title to search is at most {_MAX_TITLE} characters, not {len(text):,}")
        matches = self.catalogue.search(text)
        for match in matches:
            column = self.items.position(match.id)
            if column >= 0:
                return column
        where = "in its items" if self.saved.from_file else "in the store"
        what = where if not matches else f"in model {self.version} (matches: " + \
            ", ".join(f"{m.title} ({m.id})" for m in matches[:3]) + ")"
        raise NotFound(f"no anime titled like {shown(text)} {what}")

    def similar(self, anime: int | str, n: int = 10) -> SimilarResult:
        """The `n` anime nearest to `anime` (a Kitsu id, or a title to search) by the model."""
        column = self.find_anime(str(anime))
        columns, scores = self.model.similar(column, n)
        self._check_sound()  # a NaN similarity would just be left out: a broken model must say so
        anime_id = self._kitsu_id(column)
        if not len(columns):  # EASE relates only the items it scores
            raise NotFound(f"model {self.version} ({self.model.family}) relates nothing to {shown(anime_id)}: "
                           "it scores only the most common anime")
        info = self._info([anime_id, *(self._kitsu_id(c) for c in columns)])
        title, subtype = _title(info, anime_id)
        return SimilarResult(anime=AnimeInfo(id=anime_id, title=title, subtype=subtype), version=self.version,
                             items=self._describe(columns, scores, None, info))

    # -- helpers ---------------------------------------------------------------------------
    def _check_sound(self) -> None:
        """BrokenModel unless every array of the model is finite (checked once)."""
        if self._sound is None:
            self._sound = is_finite(self.model)
        if not self._sound:
            raise BrokenModel(self.version)

    def _kitsu_ids(self, ids: Any) -> list[Any]:
        """The ids the catalogue knows items by: Kitsu ids for a store's model, keys for a file's."""
        if self.saved.from_file:
            return [int(i) if self.items.numeric else str(i) for i in ids]
        return [anime for i in ids if (anime := parse_id(str(i))) is not None]

    def _info(self, anime_ids: Any) -> dict[Any, AnimeInfo]:
        wanted = list(anime_ids)
        if self._titles is not None:
            return {a: self._titles[a] for a in wanted if a in self._titles}
        return self.catalogue.anime(self._kitsu_ids(wanted))

    def _describe(self, columns: NDArray[np.int64], scores: NDArray[np.float32],
                  because: list[tuple[Contribution, ...]] | None,
                  info: dict[int, AnimeInfo] | None = None) -> list[Recommendation]:
        ids = [self._kitsu_id(c) for c in columns]
        seeds = [c.anime_id for group in because or [] for c in group]
        info = info if info is not None else self._info([*ids, *seeds])
        out = []
        for i, (anime, score) in enumerate(zip(ids, scores.tolist(), strict=True)):
            reasons = None
            if because is not None:
                reasons = tuple(Contribution(anime_id=c.anime_id, title=_title(info, c.anime_id)[0], score=c.score)
                                for c in because[i])
            title, subtype = _title(info, anime)
            out.append(Recommendation(anime_id=anime, title=title, subtype=subtype, score=float(score),
                                      because=reasons))
        return out

    def _kitsu_id(self, column: int) -> Any:
        value = self.saved.item_ids[column]
        return int(value) if self.items.numeric else str(value)


def _title(info: dict[Any, AnimeInfo], anime_id: Any) -> tuple[str | None, str | None]:
    found = info.get(anime_id)
    return (found.title, found.subtype) if found else (None, None)


_MAX_TITLE = 500
"""The longest title a search takes (Kitsu's longest titles are about 200 characters)."""
