"""Every family, from every source, through every command that uses a model: the paths users put
together (train, then user, explain, fold-in, similar, batch, evaluate, refresh, and serve's JSON
routes and dashboard pages). Each cell trains with `--families F --trials 1 --baselines none`, so
that F is the family saved, on data that reaches each family's limits (more anime than EASE
scores, anime without titles, a user with no events). See `tests/recommender/paths.py`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from kitsu_ingest.store import make_engine
from kitsu_ingest.store.migrate import upgrade
from kitsu_ingest.store.models import LibraryEntry, User
from kitsu_ingest.store.upsert import upsert
from recommender.evaluation import spaces
from tests.conftest import _reset_postgres as reset_postgres
from tests.recommender import paths
from tests.recommender.paths import ITEMS, UNTITLED, Source, group

FAMILIES = ["als", "itemknn", "ease", "popularity"]
SOURCES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "csv", "parquet"]


@pytest.fixture(autouse=True)
def _ease_scores_fewer_items_than_there_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spaces, "EASE_MAX_ITEMS", paths.EASE_ITEMS)
    monkeypatch.setitem(spaces.DEFAULTS, "ease", {**spaces.DEFAULTS["ease"], "max_items": paths.EASE_ITEMS})


def _store_source(engine: Engine, url: str) -> Source:
    frame = paths.fill_store(engine)
    history = {int(u): set(rows.item.astype(int)) for u, rows in frame.groupby("user")}
    history[4] |= _favourites(engine)

    def add_user() -> int:  # crawled after the model was trained
        mine = [a for a in ITEMS if group(a) == 2][:8]
        now = datetime.now(UTC).replace(tzinfo=None)
        upsert(engine, User.__table__, [paths.user_row(777, now)])  # type: ignore[attr-defined]
        upsert(engine, LibraryEntry.__table__,  # type: ignore[attr-defined]
               paths.entry_rows(pd.DataFrame({"user": 777, "item": mine, "status": "completed"}), 90_000, now))
        history[777] = set(mine)
        return 777

    common = int(frame.item.value_counts().idxmax())  # one EASE scores
    return Source("store", url, [], history, 4, common, lambda a: None if a in UNTITLED else f"Show {a}", add_user)


def _favourites(engine: Engine) -> set[int]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return {int(a) for (a,) in conn.execute(text("SELECT anime_id FROM favorites WHERE user_id = 4"))}


def _file_source(folder: Path, kind: str, other_store: str) -> Source:
    path, names, rows = paths.write_files(folder, kind)
    history = {u: set(group_.iid) for u, group_ in rows.groupby("uid")}
    key = (lambda a: f"i{a}") if kind == "csv" else (lambda a: a)
    user = "u4" if kind == "csv" else 4

    def add_user() -> Any:
        newcomer = "u777" if kind == "csv" else 777
        mine = [key(a) for a in ITEMS if group(a) == 2][:8]
        extra = pd.DataFrame({"uid": newcomer, "iid": mine, "rating": 5})
        updated = pd.concat([rows, extra], ignore_index=True)
        updated.to_csv(path, index=False) if kind == "csv" else updated.to_parquet(path)
        history[newcomer] = set(mine)
        return newcomer

    def title(item: Any) -> str | None:
        number = int(str(item).lstrip("i"))
        return None if number in UNTITLED else f"Item {number}"

    args = ["--interactions", str(path), "--user-col", "uid", "--item-col", "iid", "--weight-col", "rating",
            "--items", str(names), "--title-col", "name"]
    common = rows.iid.value_counts().idxmax()  # one EASE scores
    return Source("file", other_store, args, history, user, common, title, add_user)


def _source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Source, Any]]:
    """A cell's source, and the StoreReader a server of its model gets (the other data's store for files)."""
    from recommender.data.store import StoreReader

    kind = request.param
    if kind in ("sqlite", "postgres"):
        url = f"sqlite:///{tmp_path / 'store.db'}" if kind == "sqlite" else request.getfixturevalue("postgres_url")
        if kind == "postgres":
            reset_postgres(url).dispose()
        engine = make_engine(url)
        upgrade(engine)
        yield _store_source(engine, url), StoreReader.open(url)
        engine.dispose()
        return
    other = f"sqlite:///{tmp_path / 'other.db'}"  # Kitsu users 1..150 with other libraries and titles
    engine = make_engine(other)
    upgrade(engine)
    paths.fill_store(engine, seed=99)
    engine.dispose()
    yield _file_source(tmp_path, kind, other), StoreReader.open(other)


@pytest.fixture(params=SOURCES)
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Source, Any]]:
    yield from _source(request, tmp_path)


@pytest.fixture(params=SOURCES[:2])
def store_source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Source, Any]]:
    yield from _source(request, tmp_path)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_from_every_source_through_every_command(
        source: tuple[Source, Any], family: str, tmp_path: Path) -> None:
    cell, store = source
    model_dir = tmp_path / "models"
    code, out, err = paths.recommend(cell, model_dir, "train", *cell.train_args, "--families", family,
                                     "--trials", "1", "--baselines", "none", "--eval-users", "0", "--json")
    assert code == 0, err
    assert json.loads(out)["family"] == family
    paths.check_user_answers(cell, model_dir, family)
    paths.check_similar(cell, model_dir, family)
    paths.check_batch(cell, model_dir, tmp_path)
    paths.check_evaluate(cell, model_dir, family)
    paths.check_serve(cell, model_dir, family, store)
    if cell.kind == "store":
        code, out, err = paths.recommend(cell, model_dir, "user", "900", "--json")
        assert code == 0 and json.loads(out)["source"] == "fallback", err
    paths.check_fold_in_and_refresh(cell, model_dir, family)
    store.close()


def test_cluster_popularity_kept_from_a_store_answers_every_command(store_source: tuple[Source, Any],
                                                                     tmp_path: Path) -> None:
    """Cluster popularity is kept only when it beats the searched families on validation: saved
    here directly, as the search saves it, then asked everything."""
    from recommender.data.events import EventWeights
    from recommender.data.sources import load_interactions
    from recommender.evaluation.tuning import Candidate, fit_candidate
    from recommender.registry import ModelCard, save_model
    from recommender.training import TrainConfig

    cell, store = store_source
    data = load_interactions(None, store=store)
    labels = (data.user_ids % 3).astype(int)
    params = spaces.DEFAULTS["cluster_popularity"]
    model = fit_candidate(Candidate("cluster_popularity", params, None, {}), data.matrix, labels=labels)
    card = ModelCard(family="cluster_popularity", params=params, weights=EventWeights(), config=TrainConfig(),
                     validation={}, test={}, fingerprint=data.fingerprint(), shape=data.shape, nnz=data.nnz,
                     source={"kind": "store"})
    model_dir = tmp_path / "models"
    save_model(model_dir, model, data.user_ids, data.item_ids, card)
    paths.check_user_answers(cell, model_dir, "cluster_popularity")
    paths.check_similar(cell, model_dir, "cluster_popularity")
    paths.check_batch(cell, model_dir, tmp_path)
    paths.check_serve(cell, model_dir, "cluster_popularity", store)
    paths.check_fold_in_and_refresh(cell, model_dir, "cluster_popularity")
    store.close()
