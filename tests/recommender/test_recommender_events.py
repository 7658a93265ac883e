"""Event strengths, weights files and confidence transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix

from recommender.data.events import EventWeights, apply_confidence, event_strengths, load_weights
from recommender.errors import ConfigFileError, DataError


def test_completed_plus_favorite_is_eleven() -> None:
    entries = pd.DataFrame({"user": [1, 1, 2], "item": [10, 11, 10],
                            "status": ["completed", "dropped", "planned"]})
    favorites = pd.DataFrame({"user": [1], "item": [10]})
    out = event_strengths(entries, favorites).set_index(["user", "item"])["strength"]
    assert out[(1, 10)] == 11
    assert out[(1, 11)] == 1
    assert out[(2, 10)] == 3


def test_default_weights_are_the_notebooks() -> None:
    assert EventWeights().as_dict() == {"completed": 6, "current": 4, "planned": 3,
                                        "on_hold": 2, "dropped": 1, "favorite": 5}


def test_weights_file_overrides_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text("[weights]\ncompleted = 10\nfavorite = 0\nrewatching = 7\n")
    weights = load_weights(path)
    assert weights.statuses["completed"] == 10
    assert weights.statuses["rewatching"] == 7
    assert weights.statuses["planned"] == 3
    assert weights.favorite == 0


@pytest.mark.parametrize("text", ["completed = 'a lot'", "completed = -1", "not toml [", ""])
def test_invalid_weights_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError):
        load_weights(path)


def test_missing_weights_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_weights(tmp_path / "nope.toml")


def test_unknown_status_is_an_error() -> None:
    entries = pd.DataFrame({"user": [1], "item": [2], "status": ["binged"]})
    with pytest.raises(DataError, match="unknown status 'binged'"):
        event_strengths(entries)


def test_confidence_transforms() -> None:
    m = csr_matrix(np.array([[0, 3.0], [1.0, 0]]))
    assert apply_confidence(m, "linear").toarray().tolist() == [[0, 3], [1, 0]]
    assert np.allclose(apply_confidence(m, "log").data, np.log1p([3.0, 1.0]))
    weighted = apply_confidence(m, "log", bm25=True)
    assert weighted.shape == m.shape and weighted.nnz == 2
    with pytest.raises(ConfigFileError):
        apply_confidence(m, "sqrt")
