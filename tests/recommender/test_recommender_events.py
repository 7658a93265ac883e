"""Event strengths, weights files and confidence transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix

from recommender.data.events import (
    EventWeights,
    apply_confidence,
    frame_columns,
    from_events,
    load_weights,
    weights_toml,
)
from recommender.errors import ConfigFileError, DataError


def event_strengths(entries: pd.DataFrame, favorites: pd.DataFrame | None = None,
                    weights: EventWeights | None = None) -> pd.Series:
    """Each (user, item)'s summed strength, through the one kernel (`from_events`)."""
    data = from_events(frame_columns(entries, favorites), weights or EventWeights())
    coo = data.matrix.tocoo()
    index = pd.MultiIndex.from_arrays([data.user_ids[coo.row], data.item_ids[coo.col]], names=["user", "item"])
    return pd.Series(coo.data, index=index, name="strength")


def test_completed_plus_favorite_is_eleven() -> None:
    entries = pd.DataFrame({"user": [1, 1, 2], "item": [10, 11, 10],
                            "status": ["completed", "dropped", "planned"]})
    favorites = pd.DataFrame({"user": [1], "item": [10]})
    out = event_strengths(entries, favorites)
    assert out[(1, 10)] == 11
    assert out[(1, 11)] == 1
    assert out[(2, 10)] == 3


def test_default_weights_are_the_notebooks() -> None:
    assert EventWeights().as_dict() == {"completed": 6, "current": 4, "planned": 3,
                                        "on_hold": 2, "dropped": 1, "favorite": 5}


def test_weights_file_overrides_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text("[weights]\ncompleted = 10\nfavorite = 0\n[weights.extra]\nrewatching = 7\n")
    weights = load_weights(path)
    assert weights.statuses["completed"] == 10
    assert weights.statuses["rewatching"] == 7
    assert weights.statuses["planned"] == 3
    assert weights.favorite == 0


def test_a_weight_may_be_negative_and_counts_against_its_pair(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text("dropped = -2\nfavorite = 5.5\n")  # flat, without [weights]
    weights = load_weights(path)
    assert weights.statuses["dropped"] == -2 and weights.favorite == 5.5
    entries = pd.DataFrame({"user": [1, 1, 2], "item": [10, 11, 10], "status": ["dropped", "dropped", "planned"]})
    favorites = pd.DataFrame({"user": [1], "item": [10]})
    out = event_strengths(entries, favorites, weights)
    assert out.to_dict() == {(1, 10): 3.5, (2, 10): 3.0}  # a dropped favourite; a dropped pair is left out


@pytest.mark.parametrize(("text", "message"), [
    ("completed = 'a lot'", "must be a number"),
    ("completed = -2e6", "between -1e+06 and 1e+06"),
    ("complted = 10", "unknown weight 'complted' (did you mean completed?); weights are current, planned, "
                      "completed, on_hold, dropped, favorite, and statuses of other data under [weights.extra]"),
    ("[weights]\nrewatching = 1", "unknown weight 'rewatching'"),
    ("[weights]\nextra = 3", "[weights.extra] must be a table"),
    ("[weights.extra]\ncompleted = 1", "completed is a Kitsu weight"),
    ("not toml [", "not valid TOML"),
    ("", "names no weights"),
])
def test_invalid_weights_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as caught:
        load_weights(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_weights_written_are_read_back_equal(tmp_path: Path) -> None:
    weights = EventWeights({**EventWeights().statuses, "completed": 1 / 3, "dropped": -4.999999999,
                            "on hold": 2.5, "再視聴": 1e-7, 'quo"te': -0.0}, favorite=0.1 + 0.2)
    path = tmp_path / "w.toml"
    path.write_text(weights_toml(weights), encoding="utf-8")
    assert load_weights(path) == weights
    assert load_weights(path).as_dict() == weights.as_dict()  # exact, not rounded


def test_missing_weights_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_weights(tmp_path / "nope.toml")


def test_unknown_status_is_an_error() -> None:
    entries = pd.DataFrame({"user": [1], "item": [2], "status": ["binged"]})
    with pytest.raises(DataError, match="unknown status 'binged'"):
        event_strengths(entries)
    with pytest.raises(DataError, match="a missing status"):
        event_strengths(pd.DataFrame({"user": [1], "item": [2], "status": [None]}))


def test_confidence_transforms() -> None:
    m = csr_matrix(np.array([[0, 3.0], [1.0, 0]]))
    assert apply_confidence(m, "linear").toarray().tolist() == [[0, 3], [1, 0]]
    signed = csr_matrix(np.array([[-2.0, 3.0], [1.0, 0]]))
    assert apply_confidence(signed, "log").nnz == 2  # a pair at zero or less is no interaction, as when read
    assert np.allclose(apply_confidence(m, "log").data, np.log1p([3.0, 1.0]))
    weighted = apply_confidence(m, "log", bm25=True)
    assert weighted.shape == m.shape and weighted.nnz == 2
    with pytest.raises(ConfigFileError):
        apply_confidence(m, "sqrt")
