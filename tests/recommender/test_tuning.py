"""The budgeted search: seeded, every family on one footing, learnt weights, history saved, shared
studies, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from recommender.data.events import EventWeights, frame_columns, from_events, load_weights
from recommender.data.interactions import Interactions
from recommender.evaluation.tuning import SearchConfig
from recommender.registry import load_model
from recommender.training import TrainConfig, context_for, train, train_and_save
from tests.recommender.conftest import run_recommend as _run

STATUSES = ["completed", "current", "planned", "on_hold", "dropped"]
FAST = {"families": ("als", "itemknn", "ease", "popularity"), "seconds": None, "trials": 7}


def _entries(users: int = 70, items: int = 36, seed: int = 0) -> pd.DataFrame:
    """Three taste groups; dropped entries are mostly of the other groups' items."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, 3, users)
    rows = []
    for u in range(users):
        for i in range(items):
            mine = i % 3 == taste[u]
            if rng.random() < (0.5 if mine else 0.08):
                status = STATUSES[rng.integers(0, 4)] if mine else "dropped"
                rows.append((f"u{u}", 100 + i, status))
    return pd.DataFrame(rows, columns=["user", "item", "status"])


def _data(kinds: bool = False) -> Interactions:
    return from_events(frame_columns(_entries()), EventWeights(), kinds=kinds)


def test_a_seeded_search_gives_the_same_result_twice() -> None:
    first = train(_data(), TrainConfig(), SearchConfig(**FAST, seed=4), refit=False)
    second = train(_data(), TrainConfig(), SearchConfig(**FAST, seed=4), refit=False)
    assert first is not None and second is not None
    assert (first.family, first.params, first.validation) == (second.family, second.params, second.validation)
    assert first.search["trials"] == 7 and first.search["mode"] == "budget"


def test_every_family_is_scored_and_the_kept_one_wins_on_validation() -> None:
    result = train(_data(), TrainConfig(), SearchConfig(**FAST), clusters=np.arange(_data().shape[0]) % 3)
    assert result is not None and result.model is not None
    assert {"als", "itemknn", "ease", "popularity", "random", "cluster_popularity"} <= set(result.families)
    best = max(f["validation"]["ndcg@10"] for f in result.families.values())
    assert result.validation["ndcg@10"] == best and result.model.family == result.family
    assert set(result.test) == set(result.families)
    assert result.margin is not None and result.margin >= 0


def test_learnt_weights_change_training_but_not_what_is_evaluated(tmp_path: Path) -> None:
    data = _data(kinds=True)
    assert "dropped" in data.kinds and data.event_counts is not None
    search = SearchConfig(families=("als", "itemknn"), seconds=None, trials=6, tune_weights=True)
    context = context_for(data, TrainConfig(), search)
    params = {"transform": "linear", "bm25": False}
    ignored = {**EventWeights().as_dict(), "dropped": 0.0}
    assert context.matrix("train", params, ignored).nnz < context.matrix("train", params, None).nnz
    negative = context.matrix("train", params, {**ignored, "dropped": -2.0})  # pairs at 0 or less left out
    assert (negative != context.matrix("train", params, ignored)).nnz == 0 and negative.data.min() > 0
    before = context.eval_set.truth.nnz
    card, result = train_and_save(data, TrainConfig(), search, tmp_path / "m", weights=EventWeights())
    assert card is not None and result is not None and result.weights is not None
    assert context.eval_set.truth.nnz == before
    saved = load_model(tmp_path / "m")
    assert saved.card.weights.as_dict() == pytest.approx({**result.weights})
    assert {"results.csv", "history.png", "effects.png"} <= {p.name for p in saved.path.iterdir()}
    assert saved.card.search["tune_weights"] is True


@pytest.fixture
def status_file(tmp_path: Path) -> Path:
    path = tmp_path / "entries.csv"
    _entries().to_csv(path, index=False)
    return path


def test_the_cli_saves_learnt_weights_and_the_card_names_the_winner(status_file: Path, tmp_path: Path) -> None:
    weights = tmp_path / "learnt.toml"
    code, out, err = _run("train", "--interactions", str(status_file), "--status-col", "status",
                          "--trials", "5", "--tune-weights", "--save-weights", str(weights),
                          "--model-dir", str(tmp_path / "m"), "--json")
    assert code == 0, err
    report = json.loads(out)
    learnt = load_weights(weights).as_dict()
    assert learnt == report["weights"] == load_model(tmp_path / "m").card.weights.as_dict()  # exactly
    assert load_model(tmp_path / "m").card.family == report["family"]
    # --weights reads what --save-weights wrote, and trains with it as it is
    code, out, err = _run("train", "--interactions", str(status_file), "--status-col", "status", "--trials", "2",
                          "--weights", str(weights), "--save-weights", str(tmp_path / "again.toml"),
                          "--model-dir", str(tmp_path / "m2"), "--json")
    assert code == 0, err
    assert load_model(tmp_path / "m2").card.weights.as_dict() == learnt
    assert (tmp_path / "again.toml").read_text() == weights.read_text()


def test_negative_weights_round_trip_through_the_cli_and_the_card(status_file: Path, tmp_path: Path) -> None:
    from recommender.data.events import weights_toml

    negative = tmp_path / "negative.toml"
    negative.write_text("[weights]\ndropped = -2.5\nplanned = -0.5\n")
    code, _, err = _run("train", "--interactions", str(status_file), "--status-col", "status", "--trials", "2",
                        "--families", "als,popularity", "--weights", str(negative), "--model-dir", str(tmp_path / "m"))
    assert code == 0, err
    card = load_model(tmp_path / "m").card
    assert card.weights.statuses["dropped"] == -2.5 and card.weights.statuses["planned"] == -0.5
    reused = tmp_path / "card.toml"  # a model card's weights, reused as they are
    reused.write_text(weights_toml(card.weights))
    code, _, err = _run("export", "--interactions", str(status_file), "--status-col", "status",
                        "--weights", str(reused), "--out", str(tmp_path / "export"))
    assert code == 0 and "wrote" in _, err


def test_learnt_negative_weights_fit_what_the_same_weights_read_from_a_file_fit(status_file: Path) -> None:
    # the search reweighs the data it read; --weights reads the data with the weights: one matrix
    from recommender.data.events import apply_confidence
    from recommender.data.files import FileSpec
    from recommender.data.sources import load_interactions

    spec = FileSpec(path=str(status_file), status_col="status")
    learnt = EventWeights({**EventWeights().statuses, "dropped": -2.0, "planned": 0.0})
    searched = load_interactions(spec, EventWeights(), kinds=True)
    context = context_for(searched, TrainConfig(), SearchConfig(tune_weights=True))
    fitted = context.matrix("all", {"transform": "log", "bm25": False}, learnt.as_dict())
    read = load_interactions(spec, learnt)
    again = apply_confidence(read.matrix, "log")

    def cells(matrix, users, items):  # type: ignore[no-untyped-def]
        rows, cols = matrix.nonzero()
        return dict(zip(zip(users[rows], items[cols]), np.asarray(matrix[rows, cols]).ravel().tolist()))

    assert cells(fitted, searched.user_ids, searched.item_ids) == cells(again, read.user_ids, read.item_ids)
    assert read.nnz < searched.nnz


def test_an_unknown_weight_is_refused_in_one_line_before_any_work(status_file: Path, tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text("[weights]\ncomplted = 10\n")
    for command in (["train", "--trials", "2", "--model-dir", str(tmp_path / "m")],
                    ["export", "--out", str(tmp_path / "export")]):
        code, _, err = _run(*command, "--interactions", str(status_file), "--status-col", "status",
                            "--weights", str(typo))
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "unknown weight 'complted' (did you mean completed?)" in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "export").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--budget", "0"], "budget"),
    (["--budget", "-3"], "budget"),
    (["--families", "als,nonsense"], "unknown model family"),
    (["--study", "s"], "--storage"),
    (["--storage", "postgresql+psycopg://nobody@127.0.0.1:1/none", "--study", "s"], "cannot open the study"),
    (["--storage", "nonsense://x"], "cannot open the study"),
])
def test_bad_search_options_are_one_line(status_file: Path, tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = _run("train", "--interactions", str(status_file), "--status-col", "status",
                        "--model-dir", str(tmp_path / "m"), "--trials", "2", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


def test_learning_weights_needs_statuses(tmp_path: Path) -> None:
    path = tmp_path / "plays.csv"
    _entries().assign(plays=3).to_csv(path, index=False)
    code, _, err = _run("train", "--interactions", str(path), "--weight-col", "plays", "--tune-weights",
                        "--trials", "2", "--model-dir", str(tmp_path / "m"))
    assert code == 2 and "statuses" in err and len(err.strip().splitlines()) == 1


def test_a_study_is_refused_other_data(status_file: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    common = ["--storage", storage, "--study", "s1", "--trials", "2", "--families", "popularity,itemknn",
              "--model-dir", str(tmp_path / "m")]
    code, _, err = _run("train", "--interactions", str(status_file), "--status-col", "status", *common)
    assert code == 0, err
    other = tmp_path / "other.csv"
    _entries(seed=1).to_csv(other, index=False)
    code, _, err = _run("train", "--interactions", str(other), "--status-col", "status", *common)
    assert code == 2 and "searches other data" in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def optuna_database() -> Iterator[str]:
    """A fresh PostgreSQL database for a shared study (apart from any store: Optuna keeps its own tables)."""
    from kitsu_ingest.store import make_engine

    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"optuna_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_two_workers_share_one_study_and_the_best_is_saved_once(status_file: Path, tmp_path: Path,
                                                                 optuna_database: str) -> None:
    import optuna

    models = tmp_path / "models"
    command = [sys.executable, "-c", "from recommender.cli import main; main()", "train",
               "--interactions", str(status_file), "--status-col", "status", "--storage", optuna_database,
               "--study", "shared", "--budget", "8", "--families", "als,itemknn,popularity",
               "--model-dir", str(models)]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    assert sum("saved model" in err for _, err in outputs) == 1
    assert sum("the last worker" in err for _, err in outputs) == 1
    versions = [p for p in models.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(versions) == 1
    study = optuna.load_study(study_name="shared", storage=optuna_database)
    workers_seen = {k for k in study.user_attrs if k.startswith("worker:")}
    assert len(workers_seen) == 2 and all(study.user_attrs[k] == "done" for k in workers_seen)
    # the saver ranked every worker's trials
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    finished = [t for t in study.trials if t.state in states]
    assert load_model(models).card.search["trials"] == len(finished) > 2


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def study_storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for a shared study, on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'optuna.db'}"
    return str(request.getfixturevalue("optuna_database"))


def _study(storage: str, name: str = "s") -> Any:
    import optuna

    return optuna.load_study(study_name=name, storage=storage)


def _wait_running(storage: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    """Until the worker in `process` is marked running in study "s" and has started a trial."""
    import optuna

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            study = _study(storage)
            if "running" in study.user_attrs.values() and study.get_trials(deepcopy=False):
                return
        except (KeyError, optuna.exceptions.OptunaError, SQLAlchemyError):
            pass  # the study or its tables are not there yet
        time.sleep(0.2)
    raise AssertionError("the worker never started searching")


def test_a_killed_worker_does_not_keep_a_shared_study_from_saving(status_file: Path, tmp_path: Path,
                                                                   study_storage: str) -> None:
    models = tmp_path / "models"
    common = ["train", "--interactions", str(status_file), "--status-col", "status", "--storage", study_storage,
              "--study", "s", "--families", "als,popularity", "--model-dir", str(models)]
    victim = subprocess.Popen([sys.executable, "-c", "from recommender.cli import main; main()", *common,
                               "--budget", "300"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_running(study_storage, victim)
        # a worker done while another lives and runs leaves the save to it
        code, _, err = _run(*common, "--trials", "1")
        assert code == 0 and "the last worker of study s tests and saves the best" in " ".join(err.split()), err
        assert not models.exists() or not any(p for p in models.iterdir() if not p.name.startswith("."))
        victim.send_signal(signal.SIGKILL)  # mid-search: still marked running in the study
        victim.wait(timeout=30)
    finally:
        victim.kill()
        victim.communicate()
    code, _, err = _run(*common, "--trials", "1")
    assert code == 0 and "saved model" in err, err
    assert len([p for p in models.iterdir() if p.is_dir() and not p.name.startswith(".")]) == 1
    states = sorted(v for k, v in _study(study_storage).user_attrs.items() if k.startswith("worker:"))
    assert states == ["dead", "done", "done"]
    assert not list(tmp_path.glob("optuna.db.worker-*.lock"))  # the dead worker's lock file is tidied


def test_workers_alive_and_dead_in_one_process(tmp_path: Path) -> None:
    from recommender.evaluation.study import Worker, open_study

    config = SearchConfig(storage=f"sqlite:///{tmp_path / 'optuna.db'}", study="s")
    study = open_study(config, {"data": "x"})
    with Worker(study, config.storage) as first, Worker(study, config.storage) as second:
        assert first.others_running() == [second.name]
        assert not first.claim_save()  # the second still runs
        study.set_user_attr("worker:ghost:1:dead", "running")  # marked running, holding no lock
        assert second.claim_save()  # the first is done, the ghost is dead
        assert not second.claim_save()  # once per round of trials
    assert study.user_attrs["worker:ghost:1:dead"] == "dead"
    assert {study.user_attrs[f"worker:{w.name}"] for w in (first, second)} == {"done"}


def _respelled(url: str) -> str:
    """The same database under another spelling: driver, password, host name or path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(str(parsed.database))
        return f"sqlite+pysqlite:///{path.parent}/./{path.name}"
    local = "localhost" if parsed.host in ("127.0.0.1", None) else parsed.host
    return parsed.set(drivername="postgresql", password="not-the-password", host=local,
                      port=parsed.port or 5432).render_as_string(hide_password=False)


def test_the_store_itself_is_refused_as_a_study_storage(store: Any, status_file: Path, tmp_path: Path) -> None:
    from sqlalchemy import inspect

    url = store.url.render_as_string(hide_password=False)
    before = set(inspect(store).get_table_names())
    for storage in (url, _respelled(url)):
        code, _, err = _run("train", "--database-url", url, "--storage", storage, "--study", "s", "--trials", "1",
                            "--model-dir", str(tmp_path / "m"))
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "is the store's own database: a shared study needs a database of its own" in err
        assert "not-the-password" not in err
    assert set(inspect(store).get_table_names()) == before and not (tmp_path / "m").exists()


@pytest.mark.parametrize(("storage", "database", "same"), [
    ("sqlite:///a/../b.db", "sqlite:///b.db", True),
    ("sqlite:///b.db", "sqlite:///c.db", False),
    ("sqlite://", "sqlite://", False),  # in memory: never one database
    ("postgresql://u:pw@localhost/kitsu", "postgresql+psycopg://v@127.0.0.1:5432/kitsu", True),
    ("postgresql+psycopg://u@127.0.0.1/optuna", "postgresql+psycopg://u@127.0.0.1/kitsu", False),
    ("postgresql+psycopg://u@127.0.0.1:5433/kitsu", "postgresql+psycopg://u@127.0.0.1/kitsu", False),
    ("postgresql+psycopg://kitsu@db.example/", "postgres://kitsu@DB.example/kitsu", True),  # the user's database
])
def test_which_storage_is_the_store(storage: str, database: str, same: bool, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender.errors import RecommenderError
    from recommender.evaluation.study import check_apart

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    if same:
        with pytest.raises(RecommenderError, match="is the store's own database"):
            check_apart(storage, database)
    else:
        check_apart(storage, database)
