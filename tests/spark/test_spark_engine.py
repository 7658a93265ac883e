"""`recommend train --engine spark` in Spark's local mode: Spark's ALS is as good as implicit's on the
same split, is saved in the same format, and answers through the same commands; bad input is one
line, exit 2, and no model saved."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from kitsu_ingest.store import make_engine
from kitsu_ingest.store.migrate import upgrade
from kitsu_ingest.store.models import LibraryEntry, User
from kitsu_ingest.store.upsert import upsert
from recommender.registry import list_models, load_model
from tests.serve.conftest import entry, fill, user_row

from .conftest import MASTER, one_error_line, run, synthetic

pytestmark = pytest.mark.spark
PARAMS = {"transform": "log", "bm25": False, "factors": 16, "regularization": 0.3, "alpha": 10.0, "iterations": 10}
TOLERANCE = 0.05
"""How far Spark's NDCG@10 may be from implicit's, same configuration and split (about a tenth of it)."""


def test_spark_als_is_as_good_as_implicit_on_the_same_split(spark: Any, tmp_path: Path) -> None:
    from recommender.data.export import ExportSettings, ensure_export, export_parts
    from recommender.data.interactions import from_frame
    from recommender.data.splits import make_split
    from recommender.engines.spark import fit_als
    from recommender.evaluation.evaluator import EvalSet, evaluate
    from recommender.models.als import ALS
    from recommender.models.baselines import Popularity

    frame = synthetic().rename(columns={"uid": "user", "anime": "item"})
    data = from_frame(frame.assign(strength=np.random.default_rng(2).integers(1, 12, len(frame)).astype(float)))
    split = make_split(data, "holdout", seed=0)
    manifest, _ = ensure_export(tmp_path / "export", data, split, ExportSettings("log", {"method": "holdout"}))
    validation = EvalSet(split.train, split.validation)
    theirs = fit_als(spark, tmp_path / "export", manifest, ["train"], PARAMS, seed=0)
    ours = ALS.from_params(PARAMS, seed=0).fit(export_parts(split, "log")["train"])
    spark_ndcg, implicit_ndcg = (evaluate(m, validation)["ndcg@10"] for m in (theirs, ours))
    popular = evaluate(Popularity().fit(split.train), validation)["ndcg@10"]
    assert abs(spark_ndcg - implicit_ndcg) <= TOLERANCE, (spark_ndcg, implicit_ndcg)
    assert spark_ndcg > popular + 0.1, (spark_ndcg, popular)
    assert theirs.user_factors.shape == ours.user_factors.shape and theirs.user_factors.dtype == np.float32


@pytest.fixture(scope="module")
def trained(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store of three taste groups (tests/serve) and a model Spark trained on it, by the CLI."""
    folder = tmp_path_factory.mktemp("spark-trained")
    url = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    fill(engine)
    models = folder / "models"
    code, out, err = run("train", "--engine", "spark", "--spark-master", MASTER, "--database-url", url,
                         "--model-dir", str(models), "--factors", "8", "--iterations", "10", "--json")
    assert code == 0, err
    return {"engine": engine, "url": url, "models": models, "report": json.loads(out)}


def test_trained_by_spark_saved_in_the_same_format(spark: Any, trained: dict[str, Any]) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    assert spark.range(3).count() == 3  # the command ran in the tests' session and left it running
    report = trained["report"]
    assert report["family"] == "als" and report["search"]["engine"] == "spark"
    assert set(report["test"]) >= {"als", "popularity", "itemknn", "random"}
    assert report["test"]["als"]["ndcg@10"] > report["test"]["random"]["ndcg@10"]
    saved = load_model(trained["models"])
    assert saved.version == report["version"] and saved.card.family == "als"
    assert saved.card.params["factors"] == 8 and saved.card.search["master"] == MASTER
    assert saved.model.n_users == len(saved.user_ids) == 60 and saved.model.n_items == len(saved.item_ids)
    theirs = AlternatingLeastSquares.load(str(saved.path / "als.npz"))  # implicit's own format
    assert np.array_equal(theirs.item_factors, saved.model.item_vectors())
    assert (trained["models"] / "export" / "manifest.json").is_file()


def test_a_spark_model_answers_recommend_user_similar_and_folds_in(trained: dict[str, Any]) -> None:
    where = ["--database-url", trained["url"], "--model-dir", str(trained["models"])]
    code, out, err = run("user", "1", "-n", "3", "--json", *where)
    assert code == 0, err
    body = json.loads(out)
    assert body["source"] == "model" and len(body["items"]) == 3
    assert sum((a["anime_id"] - 1000) % 3 == 1 for a in body["items"]) >= 2  # user 1's taste group
    code, out, err = run("similar", "1003", "-n", "2", *where)
    assert code == 0 and len(out.splitlines()) == 4, err
    engine: Engine = trained["engine"]
    upsert(engine, User.__table__, [user_row(501)])  # type: ignore[attr-defined]
    upsert(engine, LibraryEntry.__table__,  # type: ignore[attr-defined]
           [entry(501_000 + k, 501, a) for k, a in enumerate((1002, 1005, 1008))])
    code, out, err = run("user", "501", "-n", "3", "--json", *where)
    assert code == 0, err
    assert json.loads(out)["source"] == "folded-in"  # the ALS model's own user fitting


def _train(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    csv = tmp_path / "interactions.csv"
    if not csv.exists():
        synthetic(users=40, items=20).to_csv(csv, index=False)
    return run("train", "--interactions", str(csv), "--user-col", "uid", "--item-col", "anime", "--status-col",
               "status", "--model-dir", str(tmp_path / "models"), *extra)


def _nothing_saved(tmp_path: Path) -> None:
    assert list_models(tmp_path / "models") == []


@pytest.mark.parametrize(("extra", "needles"), [
    (["--engine", "spark", "--spark-master", "spark://127.0.0.1:{port}"], ["cannot reach the Spark master"]),
    (["--engine", "spark", "--spark-master", "mesos://h:5050"], ["unknown Spark master"]),
    (["--engine", "spark", "--spark-master", MASTER, "--export", "{theirs}"], ["is not an export folder"]),
    (["--engine", "spark", "--spark-master", MASTER, "--factors", "8,16"], ["one value for factors"]),
    (["--engine", "spark", "--spark-master", MASTER, "--bm25", "true"], ["not BM25"]),
    (["--engine", "spark", "--spark-master", MASTER, "--tune-weights"], ["--tune-weights searches"]),
    (["--spark-master", MASTER], ["options of --engine spark"]),
])
def test_bad_input_is_one_line_and_saves_nothing(spark: Any, tmp_path: Path, extra: list[str],
                                                  needles: list[str]) -> None:
    import socket

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "part-0.parquet").write_bytes(b"PAR1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = _train(tmp_path, *(e.format(port=port, theirs=theirs) for e in extra))
    one_error_line(code, err, *needles)
    _nothing_saved(tmp_path)
    assert [p.name for p in theirs.iterdir()] == ["part-0.parquet"]


def test_an_engine_that_is_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` fails as if it were not installed
    code, _, err = _train(tmp_path, "--engine", "spark")
    one_error_line(code, err, "needs pyspark", 'pip install "kitsu-recs[spark]"')
    monkeypatch.undo()
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    code, _, err = _train(tmp_path, "--engine", "spark")
    one_error_line(code, err, "needs Java 17 or newer", "default-jre-headless")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    code, _, err = _train(tmp_path, "--engine", "spark")
    one_error_line(code, err, "no java on JAVA_HOME")
    _nothing_saved(tmp_path)
