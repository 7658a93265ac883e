"""A tiny store with three taste groups and a model trained on it (no network, a second or so).

Users 1..60 each hold mostly the anime of their group (group = user % 3; anime 1000 + i is in
group i % 3); user 7 has anime 1004 only as a favourite and 1028 only as planned; user 900 exists in
the store with nothing in their library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from kitsu_ingest.store.models import Anime, Favorite, LibraryEntry, User
from kitsu_ingest.store.upsert import upsert

NOW = datetime(2024, 1, 1)
ITEMS = [1000 + i for i in range(30)]
SUBTYPES = ["TV", "movie", "OVA"]
PARAMS = {"factors": 8, "regularization": 0.05, "alpha": 10.0, "iterations": 15,
          "transform": "log", "bm25": False}


def group(anime_id: int) -> int:
    return (anime_id - 1000) % 3


def entry(entry_id: int, user: int, anime: int, status: str = "completed") -> dict[str, Any]:
    return {"id": entry_id, "user_id": user, "anime_id": anime, "status": status, "progress": 1,
            "reconsuming": False, "reconsume_count": 0, "updated_at": NOW, "fetched_at": NOW}


def user_row(user: int) -> dict[str, Any]:
    counters = {c.name: 0 for c in User.__table__.c  # type: ignore[attr-defined]
                if c.name.endswith(("_count", "_anime"))}
    return {"id": user, "name": f"user{user}", **counters, "fetched_at": NOW}


def fill(engine: Engine, users: range = range(1, 61), seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    anime = [{"id": a, "canonical_title": f"Show {a} {['Sora', 'Umi', 'Kaze'][group(a)]}",
              "slug": f"show-{a}", "subtype": SUBTYPES[group(a)], "popularity_rank": a - 999,
              "nsfw": False, "fetched_at": NOW} for a in ITEMS]
    upsert(engine, Anime.__table__, anime)  # type: ignore[attr-defined]
    entries, favorites = [], []
    for u in users:
        mine = [a for a in ITEMS if group(a) == u % 3 and rng.random() < 0.6]
        mine += [a for a in ITEMS if group(a) != u % 3 and rng.random() < 0.04]
        if u == 7:  # only a favourite (1004) and a planned entry (1028) of these two
            mine = [a for a in mine if a not in (1004, 1028)]
        entries += [entry(u * 100 + k, u, a) for k, a in enumerate(mine)]
    rows = [user_row(u) for u in [*users, 900]]
    upsert(engine, User.__table__, rows)  # type: ignore[attr-defined]
    upsert(engine, LibraryEntry.__table__, entries)  # type: ignore[attr-defined]
    favorites = [{"id": 1, "user_id": 7, "anime_id": 1004, "fav_rank": 0, "fetched_at": NOW}]
    upsert(engine, Favorite.__table__, favorites)  # type: ignore[attr-defined]
    planned = [entry(99_999, 7, 1028, "planned")]
    upsert(engine, LibraryEntry.__table__, planned)  # type: ignore[attr-defined]


def train_model(engine: Engine, model_dir: Path, seed: int = 0, **params: Any) -> str:
    """Fit ALS on the store's interactions and save it; returns the version."""
    from recommender.data.events import EventWeights, apply_confidence
    from recommender.data.sources import load_interactions
    from recommender.data.store import StoreReader
    from recommender.models.als import ALS
    from recommender.registry import ModelCard, save_model
    from recommender.training import TrainConfig

    data = load_interactions(None, store=StoreReader(engine))
    wanted = {**PARAMS, **params}
    confidence = apply_confidence(data.matrix, wanted["transform"], wanted["bm25"])
    model = ALS.from_params(wanted, seed=seed).fit(confidence)
    card = ModelCard(family="als", params=wanted, weights=EventWeights(), config=TrainConfig(),
                     validation={}, test={}, fingerprint=data.fingerprint(), shape=data.shape, nnz=data.nnz,
                     source={"kind": "store"})
    return save_model(model_dir, model, data.user_ids, data.item_ids, card).version


@dataclass
class Trained:
    engine: Engine
    url: str
    model_dir: Path
    version: str

    def recommender(self) -> Any:
        from recommender.data.store import StoreReader
        from recommender.serving.recommender import Recommender

        return Recommender.load(self.model_dir, None, StoreReader.open(self.url))

    def cli(self, *args: str) -> tuple[int, str, str]:
        from recommender.cli import main

        result = CliRunner().invoke(main, [args[0], *args[1:], "--database-url", self.url,
                                           "--model-dir", str(self.model_dir)])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def trained(store: Engine, tmp_path: Path) -> Trained:
    fill(store)
    model_dir = tmp_path / "models"
    version = train_model(store, model_dir)
    return Trained(store, store.url.render_as_string(hide_password=False), model_dir, version)


@pytest.fixture
def add_entries(trained: Trained) -> Callable[..., None]:
    def add(user: int, anime: list[int], status: str = "completed") -> None:
        upsert(trained.engine, User.__table__, [user_row(user)])  # type: ignore[attr-defined]
        upsert(trained.engine, LibraryEntry.__table__,  # type: ignore[attr-defined]
               [entry(user * 1000 + k, user, a, status) for k, a in enumerate(anime)])
    return add
