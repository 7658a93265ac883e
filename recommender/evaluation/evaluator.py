"""Evaluating a model on held-out interactions: top-K metrics, AUC and catalogue coverage, as
means over users (`evaluate`) and with the per-user values behind them (`evaluate_users`), from
which `recommender.evaluation.uncertainty` draws confidence intervals."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recommender.evaluation.metrics import METRIC_NAMES, PRIMARY_METRIC, auc_per_user, metric_key, ranking_per_user
from recommender.ranking import Exclusions, top_n

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

    from recommender.models.base import Model

__all__ = ["EvalSet", "Evaluation", "evaluate", "evaluate_users"]

_CELLS_PER_BATCH = 1 << 23  # scores held at once: 8M float32 = 32 MiB


class EvalSet:
    """The users with held-out items, their training rows (masked) and their relevant items.

    With `max_users`, a seeded sample of that many of them: at the whole site's scale (1.2M
    users, 20k anime) scoring every user costs about a minute and a half per evaluation, while the
    standard error of a mean NDCG over 50,000 users is already about 0.001.

    It remembers, for each model family, the evaluation with the best primary figure scored on it
    (`best_of`), so that a search's winners have their per-user values without being fitted again.
    """

    def __init__(self, seen: csr_matrix, truth: csr_matrix, max_users: int | None = None, seed: int = 0) -> None:
        import numpy as np

        self.users = np.flatnonzero(np.diff(truth.indptr) > 0)
        if max_users is not None and len(self.users) > max_users:
            self.users = np.sort(np.random.default_rng(seed).choice(self.users, max_users, replace=False))
        self.seen = seen[self.users].tocsr()
        self.exclusions = Exclusions.from_matrix(self.seen)
        self.truth = truth[self.users].tocsr()
        self.n_items = truth.shape[1]
        self.batch = max(1, _CELLS_PER_BATCH // max(1, self.n_items))
        self._best: dict[str, Evaluation] = {}
        self._lock = threading.Lock()  # a search's trials may run in threads

    def __len__(self) -> int:
        return len(self.users)

    def remember(self, family: str, evaluation: Evaluation, key: str) -> None:
        """Keep `evaluation` as `family`'s if it is the first, or better on `key`, scored here."""
        with self._lock:
            kept = self._best.get(family)
            if kept is None or evaluation.figures[key] > kept.figures[key]:
                self._best[family] = evaluation

    def best_of(self, family: str, figures: Mapping[str, float]) -> Evaluation | None:
        """`family`'s best evaluation here if it is the one with these `figures` (else None: that
        configuration was scored elsewhere, by another worker, or tied with an earlier one)."""
        with self._lock:
            kept = self._best.get(family)
        if kept is None or any(kept.figures.get(name) != value for name, value in figures.items()):
            return None
        return kept


@dataclass(frozen=True)
class Evaluation:
    """A model's figures on an EvalSet (what `evaluate` returns) and the per-user values behind
    its means."""

    figures: dict[str, float]
    per_user: dict[str, np.ndarray]
    """Each figure that is a mean over users ("ndcg@10", "auc", ...): its value for every user of
    the EvalSet, in its order (NaN where it is undefined: AUC with no negative candidate)."""


def evaluate(model: Model, data: EvalSet, k: int = 10, *, auc: bool = False) -> dict[str, float]:
    """Mean precision/recall/MAP/NDCG at `k` (keys like "ndcg@10"), coverage@k and, with `auc`,
    AUC, over the users of `data`. Items a user trained on are never recommended."""
    return evaluate_users(model, data, k, auc=auc).figures


def evaluate_users(model: Model, data: EvalSet, k: int = 10, *, auc: bool = False) -> Evaluation:
    """`evaluate`'s figures and each mean's per-user values (remembered by `data`, see `best_of`)."""
    import numpy as np

    per_user: dict[str, list[np.ndarray]] = {name: [] for name in METRIC_NAMES}
    aucs: list[np.ndarray] = []
    recommended_items = np.zeros(data.n_items, dtype=bool)
    for start in range(0, len(data), data.batch):
        stop = min(start + data.batch, len(data))
        scores = np.asarray(model.score(data.users[start:stop]), dtype=np.float32)
        truth = data.truth[start:stop]
        if auc:
            aucs.append(auc_per_user(scores, data.seen[start:stop], truth, aligned=True))
        data.exclusions.mask(scores, start)
        top = top_n(scores, k)[0]
        recommended_items[top.ravel()] = True
        for name, values in ranking_per_user(top, truth, k).items():
            per_user[name].append(values)
    users = {metric_key(name, k): np.concatenate(v) if v else np.zeros(0) for name, v in per_user.items()}
    result = {key: float(values.mean()) if len(values) else 0.0 for key, values in users.items()}
    if auc:
        users[metric_key("auc", k)] = aligned = np.concatenate(aucs) if aucs else np.zeros(0)
        defined = aligned[~np.isnan(aligned)]  # the users auc_per_user scores, so the mean is the same
        result[metric_key("auc", k)] = float(defined.mean()) if aucs else 0.0
    result[metric_key("coverage", k)] = float(recommended_items.mean())
    result["users"] = float(len(data))
    evaluation = Evaluation(result, users)
    data.remember(model.family, evaluation, metric_key(PRIMARY_METRIC, k))
    return evaluation
