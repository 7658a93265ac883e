"""Event codes and their weights derive from the domain's statuses and default strengths."""

from __future__ import annotations

from kitsu_ingest.domain import DEFAULT_FAVORITE_WEIGHT, DEFAULT_STATUS_WEIGHTS, LIBRARY_STATUSES
from kitsu_ingest.emulator import STATUSES as EMULATED_STATUSES
from kitsu_ingest.segment.features import CODE_WEIGHTS
from kitsu_ingest.store.packed import FAVORITE_CODE, STATUS_CODES


def test_codes_rank_statuses_by_default_weight() -> None:
    assert STATUS_CODES == {"completed": 0, "current": 1, "planned": 2, "on_hold": 3, "dropped": 4}
    assert set(DEFAULT_STATUS_WEIGHTS) == set(LIBRARY_STATUSES) == set(EMULATED_STATUSES)


def test_code_weights_are_the_default_strengths() -> None:
    assert CODE_WEIGHTS.tolist() == [6.0, 4.0, 3.0, 2.0, 1.0, 0.0, 0.0, 5.0]
    assert CODE_WEIGHTS[FAVORITE_CODE] == DEFAULT_FAVORITE_WEIGHT
