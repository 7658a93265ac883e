"""The evaluation protocol a model is trained and scored by: how the data is split, at which K,
with which seed, against which baselines, over how many users (`TrainConfig`). Its own module, so
that the model card (`recommender.registry`) and the training pipeline (`recommender.training`)
both read it without reading each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recommender.evaluation.metrics import PRIMARY_METRIC, metric_key
from recommender.models.factory import BASELINES

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """How to split and score."""

    k: int = 10
    split: str = "holdout"
    test_fraction: float = 0.2
    val_fraction: float = 0.2
    leave_k: int = 1
    seed: int = 0
    workers: int = 0
    baselines: tuple[str, ...] = BASELINES
    eval_users: int | None = 50_000
    """Validation and test figures are means over at most this many users (a seeded sample;
    None: every user with held-out items)."""

    def split_args(self) -> dict[str, Any]:
        return {"test_fraction": self.test_fraction, "val_fraction": self.val_fraction,
                "k": self.leave_k, "seed": self.seed}

    @property
    def primary(self) -> str:
        """The key every search optimises, e.g. "ndcg@10"."""
        return metric_key(PRIMARY_METRIC, self.k)
