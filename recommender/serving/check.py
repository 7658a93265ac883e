"""Before a trained model is saved: does it answer through the serving path?

`check_serves` asks the version, as loaded back from its staging folder, for a seeded sample of
its users' top N (with an explanation and a similar-item query where the family has them), as
`recommend user` would. A model that raises, or answers no one at all, is never saved (the one
line says why), so `latest` never names a model the server would call broken.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np

from recommender.errors import RecommenderError
from recommender.models.base import Unsupported

if TYPE_CHECKING:
    from recommender.data.history import TrainingHistory
    from recommender.registry import SavedModel

__all__ = ["SAMPLE_USERS", "check_serves"]

SAMPLE_USERS = 20
"""Users asked (a seeded sample; every user of a smaller model)."""


def check_serves(saved: SavedModel, history: TrainingHistory, users: int = SAMPLE_USERS, seed: int = 0) -> None:
    """RecommenderError unless `saved` answers a sample of its users through `Recommender`,
    what they have taken from `history` (its training rows, over its users and items)."""
    from recommender.serving.catalogue import HistoryCatalogue
    from recommender.serving.recommender import Recommender

    recommender = Recommender(saved, HistoryCatalogue(history, saved.user_ids, saved.item_ids))
    count = len(saved.user_ids)
    sample = np.random.default_rng(seed).choice(count, size=min(users, count), replace=False)
    answered = 0
    keys = [saved.user_ids[row].item() for row in np.sort(sample).tolist()]
    try:
        for key in keys:
            answered += bool(recommender.user(key, 10).items)
        with contextlib.suppress(Unsupported):
            if keys:
                recommender.user(keys[0], 10, explain=True)
        with contextlib.suppress(Unsupported):
            if len(saved.item_ids):
                recommender.similar(saved.item_ids[0].item(), 10)
    except RecommenderError as exc:
        raise RecommenderError(f"the trained {saved.model.family} model does not answer through the serving "
                               f"path, so it was not saved: {exc}") from None
    if keys and not answered:
        raise RecommenderError(f"the trained {saved.model.family} model recommends nothing to any of "
                               f"{len(keys)} sampled users, so it was not saved")
