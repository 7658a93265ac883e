"""`recommend train / models / evaluate` end to end, and one-line errors for bad input."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from kitsu_ingest.store.models import Favorite, LibraryEntry
from kitsu_ingest.store.upsert import upsert
from recommender.registry import load_model
from tests.recommender.conftest import run_recommend as _run

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
STATUSES = ["completed", "current", "planned", "on_hold", "dropped"]
SMALL_GRID = ["--factors", "4,8", "--regularization", "0.1,1", "--iterations", "2,4",
              "--alpha", "1,5", "--transform", "linear,log"]


def _synthetic(users: int = 90, items: int = 45, seed: int = 0) -> pd.DataFrame:
    """Three taste groups: each user mostly has the items of their group."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, 3, users)
    rows = [(f"user{u}", 1000 + i, STATUSES[rng.integers(0, 5)], float(rng.integers(1, 9)),
             f"2024-01-{1 + rng.integers(0, 28):02d}")
            for u in range(users) for i in range(items)
            if rng.random() < (0.45 if i % 3 == taste[u] else 0.03)]
    return pd.DataFrame(rows, columns=["uid", "anime", "status", "plays", "when"])


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "interactions.csv"
    _synthetic().to_csv(path, index=False)
    return path


def test_train_grid_json_models_evaluate(csv_file: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    code, out, err = _run("train", "--interactions", str(csv_file), "--user-col", "uid",
                          "--item-col", "anime", "--status-col", "status", "--grid",
                          *SMALL_GRID, "--model-dir", str(models), "--json",
                          "--results", str(tmp_path / "r.csv"), "--heatmap", str(tmp_path / "h.png"))
    assert code == 0, err
    report = json.loads(out)
    assert set(report["test"]) == {"als", "popularity", "itemknn", "random"}
    for figures in report["test"].values():
        assert {"ndcg@10", "precision@10", "recall@10", "map@10", "auc"} <= set(figures)
    assert report["test"]["als"]["ndcg@10"] > report["test"]["random"]["ndcg@10"]
    assert report["families"]["als"]["params"]["factors"] in (4, 8)
    # the model kept is the best family on validation, a baseline included
    families = report["families"]
    assert report["family"] == max(families, key=lambda f: families[f]["validation"]["ndcg@10"])
    results = pd.read_csv(tmp_path / "r.csv")
    assert len(results[results["family"] == "als"]) == 2 * 2 * 2 * 2 * 2 and "fit_seconds" in results
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    version = report["version"]
    saved = load_model(models)
    assert saved.version == version and (saved.path / "results.csv").is_file()
    assert set(saved.item_ids.tolist()) <= set(range(1000, 1045))
    assert saved.card.family == report["family"] and saved.model.n_items == len(saved.item_ids)
    assert saved.model.n_users in (None, len(saved.user_ids))

    code, out, _ = _run("models", "--model-dir", str(models), "--json")
    assert code == 0 and json.loads(out)[0]["version"] == version
    code, out, _ = _run("models", "--model-dir", str(models))
    assert code == 0 and version[:8] in out

    code, out, err = _run("evaluate", version, "--model-dir", str(models), "--json")
    assert code == 0, err
    again = json.loads(out)
    for name, figures in report["test"].items():
        assert again["test"][name]["ndcg@10"] == pytest.approx(figures["ndcg@10"], abs=1e-4)


def test_train_single_config_weight_col_temporal(csv_file: Path, tmp_path: Path) -> None:
    code, out, err = _run("train", "--interactions", str(csv_file), "--user-col", "uid",
                          "--item-col", "anime", "--weight-col", "plays", "--time-col", "when",
                          "--split", "temporal", "--factors", "8", "--iterations", "3",
                          "--no-save", "--json", "--model-dir", str(tmp_path / "m"))
    assert code == 0, err
    assert json.loads(out)["version"] is None and not (tmp_path / "m").exists()


def _fill_store(engine: Engine) -> None:
    frame = _synthetic(users=60, items=30)
    now = datetime(2024, 5, 1)
    frame["user_id"] = frame["uid"].str.removeprefix("user").astype(int) + 1
    entries = [{"id": n + 1, "user_id": int(r.user_id), "anime_id": int(r.anime),
                "status": r.status, "progress": 1, "reconsuming": False, "reconsume_count": 0,
                "rating_twenty": None, "updated_at": now, "fetched_at": now}
               for n, r in enumerate(frame.itertuples())]
    entries.append({**entries[0], "id": 10**6, "anime_id": None})  # unresolved NSFW entry
    upsert(engine, LibraryEntry.__table__, entries)  # type: ignore[attr-defined]
    favorites = [{"id": n + 1, "user_id": e["user_id"], "anime_id": e["anime_id"],
                  "fav_rank": 0, "fetched_at": now}
                 for n, e in enumerate(entries[:40:4])]
    upsert(engine, Favorite.__table__, favorites)  # type: ignore[attr-defined]


def test_train_from_the_store(store: Engine, tmp_path: Path) -> None:
    url = store.url.render_as_string(hide_password=False)
    code, _, err = _run("train", "--database-url", url, "--model-dir", str(tmp_path))
    assert code == 2 and "crawl" in err and len(err.strip().splitlines()) == 1
    _fill_store(store)
    code, out, err = _run("train", "--database-url", url, "--grid", *SMALL_GRID,
                          "--model-dir", str(tmp_path), "--json")
    assert code == 0, err
    saved = load_model(tmp_path)
    assert saved.card.source["kind"] == "store"
    assert set(saved.item_ids.tolist()) <= set(range(1000, 1030))  # anime ids
    code, out, err = _run("evaluate", "--database-url", url, "--model-dir", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["test"]["als"]["ndcg@10"] == pytest.approx(
        json.loads(out)["saved"]["als"]["ndcg@10"], abs=1e-4)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--user-col", "nobody"], "has no column 'nobody'"),
        (["--weights", "{weights_bad}"], "weight 'completed' must be a number"),
        (["--grid", "{grid_bad}"], "invalid value 0"),
        (["--weights", "{weights_narrow}"], "unknown status"),
        (["--model-dir", "{file}/models"], "cannot create the model directory"),
        (["--min-user-items", "1000"], "no interactions left"),
        (["--factors", "0"], "invalid value 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    csv_file: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    files = {"weights_bad": ("w.toml", "completed = 'many'"),
             "grid_bad": ("g.toml", "factors = [0, 8]"),
             "weights_narrow": ("n.toml", "[weights]\ncompleted = 1\n"),
             "file": ("plain", "")}
    paths = {}
    for key, (name, text) in files.items():
        paths[key] = tmp_path / name
        paths[key].write_text(text)
    narrowed = _synthetic().assign(status="rewatching")
    narrowed.to_csv(tmp_path / "narrow.csv", index=False)
    source = tmp_path / "narrow.csv" if "{weights_narrow}" in extra else csv_file
    args = [a.format(**paths) for a in extra]
    base = ["train", "--interactions", str(source), "--user-col", "uid", "--item-col", "anime",
            "--status-col", "status", "--model-dir", str(tmp_path / "models")]
    if "--user-col" in args:
        base = base[:3]
    code, _, err = _run(*base, *args)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert message in err


def test_too_little_data_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    pd.DataFrame({"user": [1, 2], "item": [1, 2]}).to_csv(path, index=False)
    code, _, err = _run("train", "--interactions", str(path), "--model-dir", str(tmp_path))
    assert code == 2 and "too little data" in err
    code, _, err = _run("train", "--interactions", str(tmp_path / "nope.csv"))
    assert code == 2 and "no such interactions file" in err
    code, _, err = _run("evaluate", "--model-dir", str(tmp_path / "empty"))
    assert code == 2 and "no saved model" in err


@pytest.mark.slow
def test_lastfm_als_beats_popularity(tmp_path: Path) -> None:
    path = SHARED / "lastfm-hetrec2011-2k" / "user_artists.dat"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path}")
    code, out, err = _run("train", "--interactions", str(path), "--user-col", "userID",
                          "--item-col", "artistID", "--weight-col", "weight", "--factors", "32",
                          "--regularization", "1", "--alpha", "1", "--iterations", "15",
                          "--no-save", "--json")
    assert code == 0, err
    test = json.loads(out)["test"]
    assert test["als"]["ndcg@10"] > 2 * test["popularity"]["ndcg@10"]
