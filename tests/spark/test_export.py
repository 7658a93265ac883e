"""The confidence matrix's Parquet export: an exact round trip, written once, whole or not at all,
and never over a folder that is not ours (no Spark needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from recommender.data.export import (
    MANIFEST,
    ExportError,
    ExportSettings,
    ensure_export,
    export_parts,
    read_export,
    write_export,
)
from recommender.data.interactions import Interactions, from_frame
from recommender.data.splits import make_split
from recommender.errors import DataError

from .conftest import one_error_line, run, synthetic

SPLIT = {"method": "holdout", "test_fraction": 0.2, "val_fraction": 0.2, "k": 1, "seed": 0}


@pytest.fixture
def data() -> Interactions:
    frame = synthetic(users=120, items=40).rename(columns={"uid": "user", "anime": "item"})
    return from_frame(frame.assign(strength=np.random.default_rng(1).integers(1, 12, len(frame)).astype(float)))


def test_round_trip_is_exact(data: Interactions, tmp_path: Path) -> None:
    split = make_split(data, "holdout", seed=0)
    manifest = write_export(tmp_path / "export", data, split, ExportSettings("log", SPLIT))
    back = read_export(tmp_path / "export")
    expected = export_parts(split, "log")
    for name, matrix in expected.items():
        got = back.parts[name]
        assert got.shape == matrix.shape and got.dtype == np.float32
        assert np.array_equal(got.indptr, matrix.indptr) and np.array_equal(got.indices, matrix.indices)
        assert np.array_equal(got.data, matrix.data)  # bit for bit
    assert back.user_ids.tolist() == data.user_ids.tolist() and back.item_ids.tolist() == data.item_ids.tolist()
    assert manifest["rows"] == data.nnz == sum(p["rows"] for p in manifest["parts"].values())
    assert manifest["fingerprint"] == data.fingerprint() and manifest["split"] == SPLIT
    assert set(manifest["columns"]) == {"user", "item", "confidence", "part"}
    table = pq.read_table(tmp_path / "export" / "matrix" / "part=train")
    assert table.schema.field("user").type == "int32" and table.schema.field("confidence").type == "float"


def test_written_once_then_reused_and_replaced_whole(data: Interactions, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    split = make_split(data, "holdout", seed=0)
    first, written = ensure_export(folder, data, split, ExportSettings("log", SPLIT))
    assert written
    again, written = ensure_export(folder, data, split, ExportSettings("log", SPLIT))
    assert not written and again == first
    linear, written = ensure_export(folder, data, split, ExportSettings("linear", SPLIT))
    assert written and linear["confidence"]["transform"] == "linear"
    assert read_export(folder).parts["train"].data.tolist() == split.train.data.tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no staging or old copy left


def test_a_folder_that_is_not_ours_is_refused_and_left_alone(data: Interactions, tmp_path: Path) -> None:
    split = make_split(data, "holdout", seed=0)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    (tmp_path / "file").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / MANIFEST).write_text(json.dumps({"format": "something-else"}))
    for folder in (theirs, tmp_path / "file", tmp_path / "other"):
        with pytest.raises(ExportError, match="is not an export folder of kitsu-recs"):
            write_export(folder, data, split, ExportSettings("log", SPLIT))
    assert [p.name for p in theirs.iterdir()] == ["notes.txt"] and (tmp_path / "file").read_text() == "x"
    with pytest.raises(DataError, match="linear or log"):
        write_export(tmp_path / "new", data, split, ExportSettings("bm25", SPLIT))
    assert not (tmp_path / "new").exists()


def test_recommend_export(tmp_path: Path) -> None:
    csv = tmp_path / "interactions.csv"
    synthetic(users=60, items=30).to_csv(csv, index=False)
    source = ["--interactions", str(csv), "--user-col", "uid", "--item-col", "anime", "--status-col", "status"]
    code, out, err = run("export", *source, "--out", str(tmp_path / "export"), "--json")
    assert code == 0, err
    manifest = json.loads(out)
    assert manifest["written"] and manifest["confidence"]["transform"] == "log"
    frame = pd.read_csv(csv)
    assert manifest["rows"] == len(frame) and manifest["shape"] == [frame.uid.nunique(), frame.anime.nunique()]
    code, out, err = run("export", *source, "--out", str(tmp_path / "export"))
    assert code == 0 and out.startswith("already up to date:"), err
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "data.parquet").write_bytes(b"PAR1")
    code, out, err = run("export", *source, "--out", str(tmp_path / "theirs"))
    one_error_line(code, err, "is not an export folder of kitsu-recs")
    assert [p.name for p in (tmp_path / "theirs").iterdir()] == ["data.parquet"]
