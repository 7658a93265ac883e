"""Confidence intervals and the paired test: per-user values behind the means, the bootstrap, the
within-noise rule, and what training, the card and `recommend train` carry of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from recommender.data.events import EventWeights, frame_columns, from_events
from recommender.evaluation.evaluator import EvalSet, evaluate, evaluate_users
from recommender.evaluation.metrics import auc_per_user
from recommender.evaluation.tuning import SearchConfig
from recommender.evaluation.uncertainty import choose, margin_test, resample
from recommender.models.als import ALS
from recommender.registry import ModelCard, load_model
from recommender.training import TrainConfig, train, train_and_save
from tests.recommender.conftest import run_recommend
from tests.recommender.test_tuning import FAST, _data, _entries


def _eval_set(seed: int = 3, users: int = 40, items: int = 25) -> tuple[EvalSet, ALS]:
    rng = np.random.default_rng(seed)
    seen = csr_matrix((rng.random((users, items)) < 0.2).astype(np.float32))
    truth = csr_matrix(((rng.random((users, items)) < 0.15) & (seen.toarray() == 0)).astype(np.float32))
    model = ALS.from_arrays({"user_factors": rng.normal(size=(users, 4)), "item_factors": rng.normal(size=(items, 4))})
    return EvalSet(seen, truth), model


def test_per_user_values_average_to_exactly_the_figures() -> None:
    data, model = _eval_set()
    evaluation = evaluate_users(model, data, 5, auc=True)
    assert evaluation.figures == evaluate(model, data, 5, auc=True)
    for key in ("precision@5", "recall@5", "map@5", "ndcg@5"):
        assert len(evaluation.per_user[key]) == len(data)
        assert float(evaluation.per_user[key].mean()) == evaluation.figures[key]
    auc = evaluation.per_user["auc"]
    assert len(auc) == len(data) and float(auc[~np.isnan(auc)].mean()) == evaluation.figures["auc"]
    assert "coverage@5" not in evaluation.per_user  # a share of the catalogue, not a mean over users


def test_aligned_auc_marks_users_with_no_negative_candidate() -> None:
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.4], [0.3, 0.6, 0.1]])
    seen = csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]], np.float32))
    truth = csr_matrix(np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], np.float32))
    aligned = auc_per_user(scores, seen, truth, aligned=True)
    assert np.isnan(aligned[1])  # user 1 has seen or holds every item
    assert aligned[[0, 2]].tolist() == auc_per_user(scores, seen, truth).tolist() == [0.0, 0.5]


def test_the_eval_set_remembers_each_familys_best_evaluation() -> None:
    data, model = _eval_set()
    worse = ALS.from_arrays({"user_factors": -model.user_factors, "item_factors": model.item_factors})
    good, bad = evaluate_users(model, data, 5), evaluate_users(worse, data, 5)
    assert good.figures["ndcg@5"] > bad.figures["ndcg@5"]
    assert data.best_of("als", good.figures) is good
    assert data.best_of("als", bad.figures) is None and data.best_of("ease", good.figures) is None


def _interval(values: np.ndarray, seed: int) -> list[float] | None:
    return resample({"f": {"m": values}}, seed).interval("f", "m")


def test_the_bootstrap_is_seeded_and_as_wide_as_the_standard_error() -> None:
    values = (np.random.default_rng(0).random(4000) < 0.3).astype(float)
    first = _interval(values, seed=7)
    assert first is not None and first == _interval(values, seed=7) != _interval(values, seed=8)
    low, high = first
    half = 1.96 * values.std() / np.sqrt(len(values))
    assert low < values.mean() < high
    assert high - low == pytest.approx(2 * half, rel=0.15)
    with_gaps = np.where(np.arange(4000) % 2 == 0, values, np.nan)  # NaN: left out of each mean
    gapped = _interval(with_gaps, seed=7)
    assert gapped is not None and gapped[0] < np.nanmean(with_gaps) < gapped[1] and gapped[1] - gapped[0] > high - low
    assert _interval(np.full(10, np.nan), seed=0) is None
    assert resample({"f": {"m": np.zeros(0)}}, seed=0).intervals() == {}


def test_a_paired_difference_sees_what_two_separate_intervals_miss() -> None:
    rng = np.random.default_rng(1)
    a = rng.random(500)
    b = a - 0.01 + rng.normal(0, 0.005, 500)  # a little worse, user by user
    resampled = resample({"a": {"m": a}, "b": {"m": b}, "same": {"m": a.copy()}}, seed=0)
    intervals = resampled.intervals()
    assert intervals["a"]["m"][0] < intervals["b"]["m"][1]  # the two intervals overlap...
    paired = resampled.difference("a", "b", "m")
    assert paired["interval"][0] > 0 and not paired["within_noise"]  # ...the paired one excludes 0
    assert paired["difference"] == pytest.approx(0.01, abs=0.002)
    same = resampled.difference("a", "same", "m")
    assert same["difference"] == 0 and same["interval"] == [0.0, 0.0] and same["within_noise"]
    assert resampled.means["a", "m"].shape == (1000,)


def test_the_cheapest_family_within_noise_of_the_best_is_kept_when_asked() -> None:
    rng = np.random.default_rng(2)
    best = rng.random(300)
    tied = best + rng.normal(0, 0.05, 300) - 0.001  # within noise of the best
    worse = best - 0.2
    validation = resample({name: {"ndcg@10": values} for name, values in
                           {"ease": best, "als": tied, "popularity": worse, "random": tied.copy()}.items()}, seed=0)
    cost = {"ease": 100, "als": 10, "popularity": 1, "random": 0}
    named = choose("ease", validation, "ndcg@10", cost)
    assert named.kept == "ease" and named.cheapest == "als"  # by default the best is kept, the cheapest named
    choice = choose("ease", validation, "ndcg@10", cost, prefer_cheaper=True)
    assert choice.kept == "als" and set(choice.within_noise) == {"als", "random"}  # random is never kept for cost
    assert choose("ease", validation, "ndcg@10", {**cost, "als": 1000}, prefer_cheaper=True).kept == "ease"
    assert choose("ease", validation, "ndcg@10", {}, prefer_cheaper=True).kept == "ease"  # costs unknown: the best
    figures = {family: value for (family, _), value in validation.observed.items()}
    tested = margin_test(choice, figures, validation, validation, "ndcg@10", cost)
    assert tested is not None
    assert tested["runner_up"] == "ease" and tested["kept_for_cost"] and tested["within_noise"]
    assert tested["cheapest_within_noise"] == "als"
    assert tested["validation"]["difference"] < 0 < tested["validation"]["interval"][1]
    alone = resample({"ease": {"ndcg@10": best}}, seed=0)
    assert margin_test(choose("ease", alone, "ndcg@10", cost), {"ease": 1.0}, alone, alone, "ndcg@10", cost) is None


def test_training_gives_every_figure_an_interval_and_tests_the_margin() -> None:
    result = train(_data(), TrainConfig(), SearchConfig(**FAST), refit=False)
    assert result is not None and result.margin_test is not None
    for part, figures in (("validation", {f: v["validation"] for f, v in result.families.items()}),
                          ("test", result.test)):
        assert set(result.intervals[part]) == set(result.families)
        for family, values in figures.items():
            interval = result.intervals[part][family]
            assert {"precision@10", "recall@10", "map@10", "ndcg@10"} <= set(interval)
            assert ("auc" in interval) == (part == "test")
            low, high = interval["ndcg@10"]
            assert low <= values["ndcg@10"] <= high
    tested = result.margin_test
    assert tested["runner_up"] != result.family and tested["metric"] == "ndcg@10"
    assert tested["best_on_validation"] in result.families
    kept = result.families[result.family]["validation"]["ndcg@10"]
    runner_up = result.families[tested["runner_up"]]["validation"]["ndcg@10"]
    assert tested["validation"]["difference"] == pytest.approx(kept - runner_up)
    assert tested["within_noise"] == (tested["validation"]["interval"][0] <= 0 <= tested["validation"]["interval"][1])
    assert result.timings["uncertainty_seconds"] < 5


def test_with_prefer_cheaper_training_keeps_the_cheapest_family_within_noise_of_the_best() -> None:
    data = from_events(frame_columns(_entries(seed=2)), EventWeights())  # item-kNN best, EASE within noise
    best = train(data, TrainConfig(), SearchConfig(**FAST), refit=False)
    cheaper = train(data, TrainConfig(), SearchConfig(**FAST), refit=False, prefer_cheaper=True)
    assert best is not None and cheaper is not None and best.margin_test is not None
    assert cheaper.margin_test is not None
    assert best.family == best.margin_test["best_on_validation"] == "itemknn"
    assert best.margin_test["cheapest_within_noise"] == "ease" and not best.margin_test["kept_for_cost"]
    assert cheaper.family == "ease" and cheaper.margin_test["kept_for_cost"]
    assert cheaper.margin_test["runner_up"] == "itemknn" and cheaper.margin_test["within_noise"]
    assert cheaper.validation == best.families["ease"]["validation"] and cheaper.test == best.test
    assert cheaper.margin is not None and cheaper.margin < 0  # below the best on validation, within noise


def test_per_user_values_come_back_by_refitting_when_the_search_did_not_keep_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    remembered = train(_data(), TrainConfig(), SearchConfig(**FAST), refit=False)
    monkeypatch.setattr(EvalSet, "best_of", lambda self, family, figures: None)  # as for another worker's trials
    refitted = train(_data(), TrainConfig(), SearchConfig(**FAST), refit=False)
    assert remembered is not None and refitted is not None
    assert set(refitted.intervals["validation"]) == set(remembered.intervals["validation"])
    for family in ("itemknn", "ease", "popularity"):  # fitted the same way again: the same users' values
        assert refitted.intervals["validation"][family] == remembered.intervals["validation"][family]


def test_the_card_keeps_the_intervals_and_an_older_card_still_loads(tmp_path: Path) -> None:
    card, result = train_and_save(_data(), TrainConfig(), SearchConfig(**FAST), tmp_path, weights=EventWeights())
    assert card is not None and result is not None
    saved = load_model(tmp_path).card
    assert saved.intervals == result.intervals and saved.margin_test == result.margin_test
    assert saved == ModelCard.from_json(json.loads(json.dumps(saved.to_json())))
    older = saved.to_json()
    del older["intervals"], older["margin_test"]
    old = ModelCard.from_json(older)
    assert old.intervals == {} and old.margin_test is None and old.test == saved.test


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "entries.csv"
    _entries().to_csv(path, index=False)
    return path


def test_recommend_train_prints_and_outputs_the_intervals(tmp_path: Path) -> None:
    args = ["train", "--interactions", str(_csv(tmp_path)), "--user-col", "user", "--item-col", "item",
            "--trials", "7", "--model-dir", str(tmp_path / "models")]
    code, out, err = run_recommend(*args, "--json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out[out.index("{"):])
    assert set(document["intervals"]) == {"validation", "test"}
    assert document["intervals"]["test"][document["family"]]["ndcg@10"][0] <= document["test"][document["family"]][
        "ndcg@10"]
    assert document["margin_test"]["runner_up"] in document["families"]
    assert "uncertainty_seconds" in document["timings"]
    code, _, err = run_recommend(*args)
    assert code == 0, err
    shown = " ".join(err.split())  # tables and lines on stderr, wrapped at the terminal's width
    assert "95% intervals" in shown and "paired 95% interval" in shown
    assert ("within noise)" in shown) != ("beyond noise)" in shown)
