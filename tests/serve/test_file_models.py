"""Models trained on a file, served with no store at all, and their bad input: one line each."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.recommender import paths
from tests.recommender.conftest import run_recommend
from tests.recommender.paths import one_error_line

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def file_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(model dir, interactions, items) of an item-kNN model trained on a CSV with string keys."""
    folder = tmp_path_factory.mktemp("file-model")
    path, names, _ = paths.write_files(folder, "csv")
    code, _, err = run_recommend("train", "--interactions", str(path), "--user-col", "uid", "--item-col", "iid",
                                 "--weight-col", "rating", "--items", str(names), "--title-col", "name",
                                 "--families", "itemknn", "--trials", "1", "--baselines", "none",
                                 "--model-dir", str(folder / "models"))
    assert code == 0, err
    return folder / "models", path, names


def test_a_file_model_is_served_with_no_store(file_model: tuple[Path, Path, Path]) -> None:
    from recommender.serving.holder import ModelHolder
    from recommender.webapp import create_app

    holder = ModelHolder(file_model[0], None, None)
    with TestClient(create_app(holder, watch=False)) as client:
        holder.refresh()
        response = client.get("/users/u4/recommendations?explain=true&n=3")
        assert response.status_code == 200, response.text
        assert all(item["because"] and item["title"] for item in response.json()["items"][:1])
        assert client.get("/anime/i1003/similar?n=3").status_code == 200
        assert client.get("/users/u99999/recommendations").status_code == 404
        store = client.get("/dashboard/store")
        assert store.status_code == 200 and "there is no store" in store.text
        assert client.get("/dashboard/users?id=u4").status_code == 200
        headers = client.get("/health").headers
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_a_store_model_with_no_store_is_a_503_that_says_so(tmp_path: Path) -> None:
    from scipy.sparse import csr_matrix

    from recommender.data.events import EventWeights
    from recommender.models.baselines import Popularity
    from recommender.registry import ModelCard, save_model
    from recommender.serving.holder import ModelHolder
    from recommender.training import TrainConfig
    from recommender.webapp import create_app

    matrix = csr_matrix(np.eye(3, dtype=np.float32))
    card = ModelCard(family="popularity", params={}, weights=EventWeights(), config=TrainConfig(), validation={},
                     test={}, fingerprint="f", shape=(3, 3), nnz=3, source={"kind": "store"})
    save_model(tmp_path, Popularity().fit(matrix), np.arange(1, 4), np.arange(1, 4), card)
    holder = ModelHolder(tmp_path, None, None)
    with TestClient(create_app(holder, watch=False)) as client:
        holder.refresh()
        response = client.get("/users/1/recommendations")
        assert response.status_code == 503 and "no store" in response.json()["error"]


@pytest.mark.parametrize(("args", "says"), [
    (["user", "nobody"], "is not in model"),
    (["similar", "i99999"], "no anime titled like"),
    (["user", "u4", "--fetch"], "--fetch crawls Kitsu users"),
    (["refresh", "--since", "2024-01-01"], "--since is for a store's model"),
])
def test_bad_questions_to_a_file_model_are_one_line(file_model: tuple[Path, Path, Path], args: list[str],
                                                    says: str) -> None:
    one_error_line(*run_recommend(*args, "--model-dir", str(file_model[0]))[::2], says)


def test_a_damaged_training_history_is_one_line(file_model: tuple[Path, Path, Path], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "models"
    shutil.copytree(file_model[0], copy)
    version = (copy / "latest").read_text().strip()
    (copy / version / "history.npz").write_bytes(b"PK\x03\x04 not a zip")
    one_error_line(*run_recommend("user", "u4", "--model-dir", str(copy))[::2], "training history", "unreadable")


@pytest.mark.parametrize(("items", "says"), [
    ("iid,label\ni1,x\n", "has no column 'name'"),
    (None, "no such items file"),
])
def test_a_bad_items_file_is_one_line_and_saves_nothing(file_model: tuple[Path, Path, Path], tmp_path: Path,
                                                        items: str | None, says: str) -> None:
    names = tmp_path / "items.csv"
    if items is not None:
        names.write_text(items)
    code, _, err = run_recommend("train", "--interactions", str(file_model[1]), "--user-col", "uid", "--item-col",
                                 "iid", "--items", str(names), "--title-col", "name", "--model-dir",
                                 str(tmp_path / "models"), "--trials", "1")
    one_error_line(code, err, says)
    assert not (tmp_path / "models" / "latest").exists()


def test_items_without_a_file_are_refused(tmp_path: Path) -> None:
    one_error_line(*run_recommend("train", "--items", str(tmp_path / "x.csv"), "--database-url",
                                  f"sqlite:///{tmp_path / 'none.db'}", "--model-dir", str(tmp_path / "m"))[::2],
                   "--items names the items of an --interactions file")


def test_a_file_model_batch_never_holds_what_a_user_has(file_model: tuple[Path, Path, Path], tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "b.parquet"
    code, _, err = run_recommend("batch", "--out", str(out), "--model-dir", str(file_model[0]), "--json")
    assert code == 0, err
    batch, rows = pd.read_parquet(out), pd.read_csv(file_model[1])
    held = set(zip(rows.uid, rows.iid))
    assert len(batch) and not any((u, i) in held for u, i in zip(batch.user_id, batch.anime_id))
    assert json.loads(run_recommend("user", "u4", "--json", "--model-dir", str(file_model[0]))[1])["user_id"] == "u4"
