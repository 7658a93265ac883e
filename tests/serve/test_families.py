"""Every family the search can keep is served: top N, fold-in, explain, similar and batch, or a
one-line answer saying what a family cannot do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from recommender.cli import main
from recommender.data.events import EventWeights
from recommender.data.sources import load_interactions
from recommender.data.store import StoreReader
from recommender.evaluation.tuning import Candidate, fit_candidate
from recommender.models.base import Unsupported
from recommender.registry import ModelCard, save_model
from recommender.serving.recommender import FOLDED_IN, MODEL, Recommender
from recommender.training import TrainConfig
from tests.serve.conftest import ITEMS, Trained, group

PARAMS = {"itemknn": {"kind": "cosine", "neighbours": 20}, "ease": {"regularization": 10.0, "max_items": 5000},
          "popularity": {}}


def _save(trained: Trained, family: str, folder: Path) -> Recommender:
    data = load_interactions(None, store=StoreReader(trained.engine))
    params = {"transform": "linear", "bm25": False, **PARAMS[family]}
    model = fit_candidate(Candidate(family, params, None, {}), data.matrix)
    card = ModelCard(family=family, params=params, weights=EventWeights(), config=TrainConfig(), validation={},
                     test={}, fingerprint=data.fingerprint(), shape=data.shape, nnz=data.nnz, source={"kind": "store"})
    save_model(folder, model, data.user_ids, data.item_ids, card)
    return Recommender.load(folder, None, StoreReader.open(trained.url))


@pytest.mark.parametrize("family", ["itemknn", "ease"])
def test_item_models_recommend_fold_in_explain_and_find_similar(
        trained: Trained, add_entries: Callable[..., None], tmp_path: Path, family: str) -> None:
    rec = _save(trained, family, tmp_path / family)
    known = rec.user(4, n=5, explain=True)
    assert known.source == MODEL and len(known.items) == 5
    assert group(known.items[0].anime_id) == 1  # user 4 holds group 1
    assert all(r.because for r in known.items)
    add_entries(700, [a for a in ITEMS if group(a) == 2][:5])
    folded = rec.user(700, n=4, explain=True)
    assert folded.source == FOLDED_IN and sum(group(r.anime_id) == 2 for r in folded.items) >= 3
    assert all({c.anime_id for c in r.because or ()} <= set(ITEMS) for r in folded.items)
    similar = rec.similar(1003, 3)
    assert similar.items and all(group(r.anime_id) == 0 for r in similar.items)


def test_popularity_serves_and_says_what_it_cannot(trained: Trained, tmp_path: Path) -> None:
    rec = _save(trained, "popularity", tmp_path / "pop")
    result = rec.user(4, n=3)
    assert len(result.items) == 3 and result.items[0].score >= result.items[-1].score
    with pytest.raises(Unsupported, match="popularity model has no item similarity"):
        rec.similar(1003, 3)
    with pytest.raises(Unsupported, match="cannot explain"):
        rec.user(4, n=3, explain=True)
    outcome = CliRunner().invoke(main, ["similar", "1003", "--model-dir", str(tmp_path / "pop"),
                                        "--database-url", trained.url])
    code, err = outcome.exit_code, outcome.stderr
    assert code == 2 and "no item similarity" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("family", ["itemknn", "ease", "popularity"])
def test_batch_for_every_family(trained: Trained, tmp_path: Path, family: str) -> None:
    _save(trained, family, tmp_path / family)
    out = tmp_path / f"{family}.parquet"
    outcome = CliRunner().invoke(main, ["batch", "--out", str(out), "-n", "3", "--model-dir", str(tmp_path / family),
                                        "--database-url", trained.url])
    assert outcome.exit_code == 0, outcome.stderr
    frame = pd.read_parquet(out)
    assert frame.groupby("user_id").size().max() == 3 and frame["score"].notna().all()


@pytest.mark.parametrize("family", ["als", "itemknn", "ease", "popularity"])
def test_rehearsal_runs_for_every_family_and_readies_als(trained: Trained, tmp_path: Path, family: str) -> None:
    rec = trained.recommender() if family == "als" else _save(trained, family, tmp_path / family)
    rec.warm()
    if family == "als":
        assert rec.model._implicit is None  # type: ignore[attr-defined]  # implicit waits for the rehearsal
    before = rec.user(4, n=3)
    rec.rehearse()
    assert rec.user(4, n=3) == before  # a made-up user leaves nothing behind
    if family == "als":
        assert rec.model._implicit is not None  # type: ignore[attr-defined]
