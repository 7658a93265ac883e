"""Saved models: round trip, versions, latest pointer, model cards old and new."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import random as sparse_random

from recommender.data.events import EventWeights
from recommender.data.ids import IdIndex
from recommender.errors import ModelNotFoundError, RecommenderError
from recommender.models.als import ALS
from recommender.registry import CARD_FORMAT, ModelCard, check_writable, list_models, load_model, save_model
from recommender.training import TrainConfig

PARAMS = {"factors": 4, "regularization": 0.1, "alpha": 1.0, "iterations": 3}


def _model() -> ALS:
    matrix = sparse_random(20, 15, density=0.3, format="csr", random_state=0, dtype=np.float32)
    return ALS.from_params(PARAMS).fit(matrix)


def _card() -> ModelCard:
    return ModelCard(family="als", params={"factors": 4}, weights=EventWeights(), config=TrainConfig(),
                     validation={"ndcg@10": 0.5}, test={"als": {"ndcg@10": 0.4}},
                     fingerprint="abcdef0123456789", shape=(20, 15), nnz=90, source={"kind": "store"})


def test_round_trip(tmp_path: Path) -> None:
    model = _model()
    users = np.array([f"u{i}" for i in range(20)], dtype=object)
    items = np.arange(100, 115)
    first = save_model(tmp_path, model, users, items, _card()).version
    second = save_model(tmp_path, model, users, items, _card()).version
    assert first != second
    saved = load_model(tmp_path)
    assert saved.version == second
    assert isinstance(saved.model, ALS)
    assert np.array_equal(saved.model.user_factors, model.user_factors)
    assert np.array_equal(saved.model.item_factors, model.item_factors)
    assert saved.user_ids.tolist() == users.tolist() and saved.item_ids.tolist() == items.tolist()
    assert IdIndex(saved.item_ids).position(103) == 3 and IdIndex(saved.user_ids).position("u5") == 5
    assert saved.card.params == {"factors": 4} and saved.card.created_at
    assert saved.card == ModelCard.from_json(saved.card.to_json())
    als = saved.model.solver()
    assert np.array_equal(als.item_factors, model.item_factors)
    ids, _ = als.recommend(0, None, N=3, filter_already_liked_items=False)
    assert len(ids) == 3
    assert load_model(tmp_path, first).version == first
    assert load_model(tmp_path, second).version == second
    listed = list_models(tmp_path)
    assert [m["version"] for m in listed] == [first, second]
    assert [m["latest"] for m in listed] == [False, True]


def _old_format_model(folder: Path, model: ALS) -> None:
    """A version as the first registry wrote it: implicit's own als.npz, a card with no format."""
    folder.mkdir(parents=True)
    model.solver().save(str(folder / "als.npz"))
    np.savez(folder / "ids.npz", user_ids=np.arange(1, 21), item_ids=np.arange(100, 115))
    meta = {"params": {"transform": "log", "bm25": False, **PARAMS},
            "weights": {"completed": 6.0, "current": 4.0, "planned": 3.0, "on_hold": 2.0, "dropped": 1.0,
                        "favorite": 5.0},
            "metrics": {"validation": {"ndcg@10": 0.3}, "test": {"als": {"ndcg@10": 0.2}}},
            "fingerprint": "0123456789abcdef", "shape": [20, 15], "nnz": 90, "source": {"kind": "store"},
            "filters": {"min_user_items": 1, "min_item_users": 1},
            "config": {"k": 10, "split": "holdout", "test_fraction": 0.2, "val_fraction": 0.2, "leave_k": 1,
                       "seed": 0, "workers": 0, "baselines": ["popularity", "itemknn", "random"]},
            "timings": {}, "version": folder.name, "created_at": "2026-01-01T00:00:00+00:00"}
    (folder / "meta.json").write_text(json.dumps(meta))


def test_a_model_saved_before_model_cards_still_loads(tmp_path: Path) -> None:
    model = _model()
    _old_format_model(tmp_path / "20260101T000000Z-01234567", model)
    saved = load_model(tmp_path)
    assert saved.card.family == "als" and saved.card.format == CARD_FORMAT
    assert saved.card.weights.favorite == 5.0 and saved.card.config.baselines == ("popularity", "itemknn", "random")
    assert np.array_equal(saved.model.item_factors, model.item_factors)
    assert list_models(tmp_path)[0]["params"]["factors"] == 4


def test_a_card_from_newer_code_or_malformed_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "20260101T000000Z-01234567"
    _old_format_model(folder, _model())
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "format": CARD_FORMAT + 1}))
    with pytest.raises(RecommenderError, match="newer than this code"):
        load_model(tmp_path)
    (folder / "meta.json").write_text(json.dumps({**meta, "config": "nonsense"}))
    with pytest.raises(RecommenderError, match="malformed"):
        load_model(tmp_path)


def test_no_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="recommend train"):
        load_model(tmp_path)
    assert list_models(tmp_path / "missing") == []


def test_model_dir_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(RecommenderError, match="cannot create the model directory"):
        check_writable(tmp_path / "file" / "models")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_dir(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(RecommenderError, match="not writable"):
            check_writable(locked)
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(("change", "says"), [
    ({"family": "nope"}, "unknown family 'nope'"),
    ({"params": {"transform": "cube"}}, "unknown confidence transform 'cube'"),
    ({"params": {"bm25": "yes"}}, "bm25 is 'yes'"),
])
def test_a_card_that_cannot_be_served_is_refused_when_loaded(tmp_path: Path, change: dict, says: str) -> None:
    card = save_model(tmp_path, _model(), np.arange(20), np.arange(15), _card())
    meta = tmp_path / card.version / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), **change}))
    with pytest.raises(RecommenderError, match=f"malformed.*{says}"):
        load_model(tmp_path)


def test_a_model_directory_that_is_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "models").write_text("not a folder")
    with pytest.raises(RecommenderError, match="is a file, not a folder"):
        load_model(tmp_path / "models")
