"""Interaction and weights files, whatever they hold: they load, or they are one clear line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.data.events import EventWeights, load_weights
from recommender.data.files import FileSpec, load_file
from recommender.data.interactions import Interactions
from recommender.errors import ConfigFileError, DataError

FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
ROWS = "1,10,1,2024-01-01\n1,11,2,2024-01-02\n2,10,1,2024-01-03\n2,12,3,2024-01-04\n3,11,1,2024-01-05\n"


def _write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def _one_line(message: str) -> None:
    assert len(message.splitlines()) == 1 and message.isprintable() and len(message) < 600, message


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbfuser,item,w,t\n" + ROWS.encode())
    data = load_file(FileSpec(path, weight_col="w", time_col="t"))
    assert data.shape == (3, 3) and data.matrix.sum() == 8


def test_a_binary_file_is_one_printable_line(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = _write(tmp_path, rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(DataError) as caught:
        load_file(FileSpec(path))
    _one_line(str(caught.value))


@pytest.mark.parametrize(("value", "says"), [
    ("nan", "missing (NaN)"), ("", "missing (NaN)"), ("lots", "non-numeric value: 'lots'"),
    ("inf", "infinite"), ("-inf", "infinite"), ("1e38", "beyond 1e+12"),
])
def test_bad_weights_are_named(tmp_path: Path, value: str, says: str) -> None:
    path = _write(tmp_path, f"user,item,w\n1,10,2\n1,11,{value}\n")
    with pytest.raises(DataError, match="column 'w' holds") as caught:
        load_file(FileSpec(path, weight_col="w"))
    assert says in str(caught.value) and "data row 2" in str(caught.value)
    _one_line(str(caught.value))


def test_a_time_column_must_hold_times(tmp_path: Path) -> None:
    path = _write(tmp_path, "user,item,w,t\n1,10,1,2024-01-01\n1,11,1,2024-01-01T10:00:00\n2,10,1,x3\n")
    with pytest.raises(DataError, match="column 't' is not a time column: 'x3'"):
        load_file(FileSpec(path, time_col="t"))
    with pytest.raises(DataError, match="column 'title' is not a time column: 'Sora'"):
        load_file(FileSpec(_write(tmp_path, "user,item,title\n1,10,Sora\n", "text.csv"), time_col="title"))
    mixed = _write(tmp_path, "user,item,t\n1,10,2024-01-01\n1,11,2024-01-02T10:00:00\n2,10,1 March 2024\n")
    times = load_file(FileSpec(mixed, time_col="t")).times
    assert times is not None and (times > 1.7e9).all()  # every one read (they used to become 1970)
    numeric = load_file(FileSpec(_write(tmp_path, "user,item,t\n1,10,5\n2,10,7\n", "n.csv"), time_col="t"))
    assert numeric.times is not None


@pytest.mark.parametrize("roles", [{"item_col": "user"}, {"weight_col": "item"}, {"time_col": "user"},
                                   {"status_col": "user"}])
def test_one_column_in_two_roles_is_one_line(tmp_path: Path, roles: dict[str, str]) -> None:
    path = _write(tmp_path, "user,item,w,t\n" + ROWS)
    with pytest.raises(DataError, match=r"is given as both the .* column: each needs a column of its own"):
        load_file(FileSpec(path, **roles))


@pytest.mark.parametrize(("toml", "says"), [
    ("completed = 1e38", r"is 1e\+38; weights are between -1e\+06 and 1e\+06"), ("completed = inf", "must be a number"),
    ("completed = nan", "must be a number"), ("completed = -1000001", "between"),
    ("[weights]\ncompleted = { a = 1 }", "must be a number"), ("completed = 1000001", "between"),
])
def test_weights_files_are_bounded(tmp_path: Path, toml: str, says: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(toml)
    with pytest.raises(ConfigFileError, match=says):
        load_weights(path)
    path.write_text("completed = 1e6\ndropped = -1e6\n[extra]\nbinged = 0.5")
    assert load_weights(path).statuses == {**load_weights(None).statuses, "completed": 1e6, "dropped": -1e6,
                                           "binged": 0.5}


# -- property-based: any content loads or is a DataError, never another exception ----------
_JUNK = st.one_of(st.text(max_size=8), st.sampled_from(["nan", "inf", "-1", "1e38", "", '"', "\\", "1,2", "\ufeff"]),
                  st.integers(-10, 10**20).map(str), st.floats().map(repr))
_GOOD = {"user": st.integers(1, 6).map(str), "item": st.integers(1, 6).map(str),
         "w": st.integers(1, 9).map(str), "s": st.sampled_from(["completed", "planned", "dropped"]),
         "t": st.dates().map(str)}


@st.composite
def _csv(draw: st.DrawFn) -> bytes:
    """A CSV that is often sound (to reach the loading), with junk cells, columns and bytes mixed in."""
    header = draw(st.permutations(list(_GOOD)))[:draw(st.integers(1, 5))]
    header += draw(st.lists(st.sampled_from(["\ufeffuser", "other", "", "user"]), max_size=1))
    sep = draw(st.sampled_from([",", ",", ";", "\t"]))
    junk = draw(st.sampled_from([0.0, 0.05, 0.5]))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        width = len(header) if draw(st.integers(0, 9)) else draw(st.integers(0, len(header) + 1))
        rows.append([draw(_JUNK) if draw(st.floats(0, 1)) < junk else draw(_GOOD.get(name, _JUNK))
                     for name in [*header, "x"][:width]])
    text = "\n".join(sep.join(row) for row in [header, *rows])
    encoded = text.encode("utf-8", "surrogatepass")
    return draw(st.one_of(st.just(encoded), st.binary(max_size=100).map(lambda tail: encoded + tail)))


@FAST
@given(content=st.one_of(_csv(), st.binary(max_size=300)),
       columns=st.fixed_dictionaries({}, optional={"weight_col": st.just("w"), "time_col": st.just("t")}),
       status=st.booleans())
def test_any_csv_loads_or_is_a_data_error(tmp_path: Path, content: bytes, columns: dict[str, str],
                                          status: bool) -> None:
    path = _write(tmp_path, content)
    spec = FileSpec(path, **columns, **({"status_col": "s"} if status and "weight_col" not in columns else {}))
    try:
        data = load_file(spec)
    except DataError as exc:
        _one_line(str(exc))
        return
    assert isinstance(data, Interactions) and data.nnz > 0
    assert np.isfinite(data.matrix.data).all() and (data.matrix.data >= 0).all()  # 1e-300 is 0 in float32


def _toml_value(draw: st.DrawFn, depth: int = 0) -> str:
    scalars = st.one_of(st.integers(-(2**63), 2**63 - 1).map(str), st.floats().map(_toml_float),
                        st.booleans().map(lambda b: str(b).lower()), st.text(max_size=6).map(json.dumps))
    if depth >= 2:
        return draw(scalars)
    kind = draw(st.sampled_from(["scalar", "scalar", "array", "table"]))
    if kind == "array":
        return "[" + ", ".join(_toml_value(draw, depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
    if kind == "table":
        keys = draw(st.lists(st.text(min_size=1, max_size=6), max_size=3, unique=True))
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(draw, depth + 1)}" for k in keys) + "}"
    return draw(scalars)


def _toml_float(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)


@st.composite
def _toml(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.one_of(st.sampled_from(["completed", "favorite", "planned", "weights"]),
                                   st.text(min_size=1, max_size=8)), max_size=5, unique=True))
    lines = [f"{json.dumps(key)} = {_toml_value(draw)}" for key in keys]
    if draw(st.booleans()):
        lines.insert(0, "[weights]")
    return "\n".join(lines)


@FAST
@given(document=st.one_of(_toml(), st.text(max_size=80)))
def test_any_weights_file_is_weights_or_a_config_error(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "weights.toml"
    path.write_bytes(document.encode("utf-8", "surrogatepass"))
    try:
        weights = load_weights(path)
    except ConfigFileError as exc:
        assert len(str(exc).splitlines()) == 1, str(exc)
        return
    assert isinstance(weights, EventWeights)
    assert all(math.isfinite(w) and abs(w) <= 1e6 for w in weights.as_dict().values())
