"""A model Spark fits answers every command, from the store and from a file (string keys, item
names), as implicit's models do (`tests/recommender/test_every_path.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kitsu_ingest.store import make_engine
from kitsu_ingest.store.migrate import upgrade
from recommender.data.store import StoreReader
from tests.recommender import paths
from tests.recommender.paths import UNTITLED, Source

from .conftest import MASTER

pytestmark = pytest.mark.spark


def _store(tmp_path: Path) -> Source:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    frame = paths.fill_store(engine)
    engine.dispose()
    history = {int(u): set(rows.item.astype(int)) for u, rows in frame.groupby("user")}
    favourites = StoreReader.open(url).user_events(4).favorites
    history[4] |= set(favourites)
    common = int(frame.item.value_counts().idxmax())
    return Source("store", url, [], history, 4, common, lambda a: None if a in UNTITLED else f"Show {a}")


def _file(tmp_path: Path) -> Source:
    path, names, rows = paths.write_files(tmp_path, "csv")
    history = {u: set(g.iid) for u, g in rows.groupby("uid")}
    args = ["--interactions", str(path), "--user-col", "uid", "--item-col", "iid", "--weight-col", "rating",
            "--items", str(names), "--title-col", "name"]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    engine = make_engine(other)
    upgrade(engine)
    paths.fill_store(engine, seed=99)
    engine.dispose()

    def title(item: Any) -> str | None:
        number = int(str(item).lstrip("i"))
        return None if number in UNTITLED else f"Item {number}"

    return Source("file", other, args, history, "u4", rows.iid.value_counts().idxmax(), title)


@pytest.mark.parametrize("make", [_store, _file], ids=["store", "csv"])
def test_a_model_spark_fits_answers_every_command(spark: Any, tmp_path: Path, make: Any) -> None:
    cell = make(tmp_path)
    model_dir = tmp_path / "models"
    code, out, err = paths.recommend(cell, model_dir, "train", *cell.train_args, "--engine", "spark",
                                     "--spark-master", MASTER, "--factors", "8", "--iterations", "8", "--json")
    assert code == 0, err
    assert json.loads(out)["family"] == "als"
    paths.check_user_answers(cell, model_dir, "als")
    paths.check_similar(cell, model_dir, "als")
    paths.check_batch(cell, model_dir, tmp_path)
    store = StoreReader.open(cell.url)
    paths.check_serve(cell, model_dir, "als", store)
    store.close()
