"""Metrics against hand-computed cases and a brute-force reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from recommender.evaluation.evaluator import EvalSet, evaluate
from recommender.evaluation.metrics import auc_per_user, ranking_per_user
from recommender.models.als import ALS
from recommender.ranking import top_n


def _csr(rows: list[list[int]], n_items: int) -> csr_matrix:
    data = [(u, i) for u, items in enumerate(rows) for i in items]
    r = [u for u, _ in data]
    c = [i for _, i in data]
    return csr_matrix((np.ones(len(data)), (r, c)), shape=(len(rows), n_items))


def test_hand_computed_ranking_metrics() -> None:
    truth = _csr([[1, 3], [2], []], 5)
    recommended = np.array([[3, 0, 1], [0, 1, 4], [0, 1, 2]])
    m = ranking_per_user(recommended, truth, 3)
    # user 0: hits at ranks 1 and 3; user 1: none; user 2 has no relevant item: not counted
    assert m["precision"] == pytest.approx([2 / 3, 0])
    assert m["recall"] == pytest.approx([1.0, 0])
    assert m["map"] == pytest.approx([(1 / 1 + 2 / 3) / 2, 0])
    ideal = 1 + 1 / math.log2(3)
    assert m["ndcg"] == pytest.approx([(1 + 1 / math.log2(4)) / ideal, 0])


def test_precision_is_not_implicits_precision() -> None:
    # one relevant item, found at rank 1 of 10: precision 0.1 (implicit would say 1.0)
    m = ranking_per_user(np.arange(10)[None, :], _csr([[0]], 10), 10)
    assert m["precision"] == pytest.approx([0.1])
    assert m["recall"] == pytest.approx([1.0])
    assert m["map"] == pytest.approx([1.0])
    assert m["ndcg"] == pytest.approx([1.0])


def test_top_k_order_and_ties() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9, -1.0]])
    assert top_n(scores, 3)[0].tolist() == [[1, 3, 2]]


def test_auc_hand_computed_and_ties() -> None:
    scores = np.array([[0.9, 0.1, 0.5, 0.3, 0.7], [0.5, 0.5, 0.0, 0.0, 0.0]])
    seen = _csr([[0], []], 5)
    truth = _csr([[2], [0]], 5)
    aucs = auc_per_user(scores, seen, truth)
    # user 0: candidates 1..4, positive 0.5 beats 0.1 and 0.3, loses to 0.7
    # user 1: positive 0.5 ties one negative (1/2) and beats three
    assert aucs == pytest.approx([2 / 3, 3.5 / 4])


def _reference(scores: np.ndarray, seen: csr_matrix, truth: csr_matrix, k: int) -> dict:
    out: dict[str, list[float]] = {"precision": [], "recall": [], "map": [], "ndcg": [], "auc": []}
    for u in range(scores.shape[0]):
        rel = set(truth[u].indices)
        if not rel:
            continue
        cand = [i for i in range(scores.shape[1]) if i not in set(seen[u].indices)]
        ranked = sorted(cand, key=lambda i: (-scores[u, i], i))[:k]
        hits = [1 if i in rel else 0 for i in ranked]
        out["precision"].append(sum(hits) / k)
        out["recall"].append(sum(hits) / len(rel))
        ap = sum(sum(hits[: j + 1]) / (j + 1) for j in range(k) if hits[j])
        out["map"].append(ap / min(k, len(rel)))
        dcg = sum(h / math.log2(j + 2) for j, h in enumerate(hits))
        out["ndcg"].append(dcg / sum(1 / math.log2(j + 2) for j in range(min(k, len(rel)))))
        neg = [i for i in cand if i not in rel]
        pairs = [(scores[u, p] > scores[u, n]) + 0.5 * (scores[u, p] == scores[u, n])
                 for p in rel for n in neg]
        out["auc"].append(sum(pairs) / len(pairs))
    return {key: float(np.mean(v)) for key, v in out.items()}


def test_evaluate_matches_brute_force_reference() -> None:
    rng = np.random.default_rng(3)
    users, items, k = 30, 25, 5
    seen = csr_matrix((rng.random((users, items)) < 0.2).astype(np.float32))
    truth_dense = (rng.random((users, items)) < 0.15) & (seen.toarray() == 0)
    truth = csr_matrix(truth_dense.astype(np.float32))
    uf, itf = rng.normal(size=(users, 4)), rng.normal(size=(items, 4))
    scores = (uf @ itf.T).round(1)  # rounding makes ties
    model = ALS.from_arrays({"user_factors": uf.round(6), "item_factors": itf.round(6)})
    got = evaluate(model, EvalSet(seen, truth), k, auc=True)
    want = _reference(uf.round(6) @ itf.round(6).T, seen, truth, k)
    for name in ("precision", "recall", "map", "ndcg"):
        assert got[f"{name}@{k}"] == pytest.approx(want[name], rel=1e-5)
    assert got["auc"] == pytest.approx(want["auc"], rel=1e-5)
    assert 0 < got[f"coverage@{k}"] <= 1
    tied = auc_per_user(scores, seen, truth)
    assert tied.mean() == pytest.approx(_reference(scores, seen, truth, k)["auc"])
