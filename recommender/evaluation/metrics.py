"""Top-K ranking metrics with their standard definitions, vectorised over users.

For a user with relevant (held-out) set T and top-K list R (hits `rel_j` at ranks j = 1..K):
    precision@K = |R ∩ T| / K
    recall@K    = |R ∩ T| / |T|
    AP@K        = sum_j rel_j * precision@j / min(K, |T|)          (MAP@K: its mean)
    NDCG@K      = sum_j rel_j / log2(j + 1)  /  sum_{j <= min(K, |T|)} 1 / log2(j + 1)
    AUC         = P(score of a relevant item > score of a non-relevant candidate), ties 1/2,
                  over all items the user has not trained on (Mann-Whitney, mid-ranks)
Each is averaged over users with at least one relevant item. Catalogue coverage is the share of
items that appear in anyone's top K. (implicit's `precision_at_k` divides by min(K, |T|): that is
neither precision nor recall, and is never reported here.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

__all__ = ["METRICS", "METRIC_NAMES", "PRIMARY_METRIC", "Metric", "auc_per_user", "metric_key",
           "ranking_per_user"]


@dataclass(frozen=True)
class Metric:
    """What a reported figure is: its name and whether it is cut at K (every one is better higher)."""

    name: str
    at_k: bool = True
    description: str = ""


METRICS = {m.name: m for m in (
    Metric("precision", description="hits in the top K / K"),
    Metric("recall", description="hits in the top K / held-out items"),
    Metric("map", description="mean average precision at K"),
    Metric("ndcg", description="discounted hits at K / the ideal"),
    Metric("coverage", description="share of the catalogue in anyone's top K"),
    Metric("auc", at_k=False, description="P(held-out item outranks an unseen one)"),
)}
METRIC_NAMES = ("precision", "recall", "map", "ndcg")
"""The per-user ranking metrics (`ranking_per_user`), averaged over users."""
PRIMARY_METRIC = "ndcg"
"""What every search optimises and every table sorts by (at K)."""


def metric_key(name: str, k: int) -> str:
    """The key a figure has in results and model cards: "ndcg@10", or "auc"."""
    return f"{name}@{k}" if METRICS[name].at_k else name


def ranking_per_user(recommended: np.ndarray, truth: csr_matrix, k: int) -> dict[str, np.ndarray]:
    """precision, recall, AP and NDCG at `k` for each row of `truth` that has a relevant item.

    `recommended[u]` is user u's ranked list (at least `k` long); `truth` holds the relevant items.
    """
    import numpy as np

    recommended = recommended[:, :k]
    n_relevant = np.diff(truth.indptr)
    keep = n_relevant > 0
    relevant = truth[keep]
    recommended = recommended[keep]
    n_relevant = n_relevant[keep]
    hits = _hits(relevant, recommended)
    ranks = np.arange(1, k + 1)
    discounts = 1.0 / np.log2(ranks + 1)
    n_hits = hits.sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(n_relevant, k) - 1]
    precision_at = np.cumsum(hits, axis=1) / ranks
    return {
        "precision": n_hits / k,
        "recall": n_hits / n_relevant,
        "map": (precision_at * hits).sum(axis=1) / np.minimum(n_relevant, k),
        "ndcg": (hits * discounts).sum(axis=1) / ideal,
    }


def _hits(relevant: csr_matrix, recommended: np.ndarray) -> np.ndarray:
    """hits[u, j] = 1.0 if recommended[u, j] is relevant to u (one dense boolean row per user)."""
    import numpy as np

    dense = np.zeros(relevant.shape, dtype=bool)
    counts = np.diff(relevant.indptr)
    dense[np.repeat(np.arange(relevant.shape[0]), counts), relevant.indices] = True
    rows = np.arange(recommended.shape[0])[:, None]
    return dense[rows, recommended].astype(np.float64)


def auc_per_user(scores: np.ndarray, seen: csr_matrix, truth: csr_matrix, *, aligned: bool = False) -> np.ndarray:
    """Full-ranking AUC for each row of `truth` with a relevant item and a negative candidate
    (`aligned`: one value per row of `truth`, NaN where AUC is undefined).

    Candidates are the items not in `seen` (the user's training items); `scores` is dense.
    """
    import numpy as np

    out = []
    n_items = scores.shape[1]
    for u in range(truth.shape[0]):
        positives = truth.indices[truth.indptr[u] : truth.indptr[u + 1]]
        seen_u = seen.indices[seen.indptr[u] : seen.indptr[u + 1]]
        n_pos = len(positives)
        n_neg = n_items - len(seen_u) - n_pos
        if n_pos == 0 or n_neg <= 0:
            if aligned:
                out.append(np.nan)
            continue
        row = scores[u].astype(np.float64, copy=True)
        row[seen_u] = -np.inf
        ordered = np.sort(row)
        pos_scores = row[positives]
        below = np.searchsorted(ordered, pos_scores, "left") - len(seen_u)
        ties = np.searchsorted(ordered, pos_scores, "right") - len(seen_u) - below
        rank_sum = float((below + (ties + 1) / 2.0).sum())
        out.append((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
    return np.asarray(out, dtype=np.float64)
