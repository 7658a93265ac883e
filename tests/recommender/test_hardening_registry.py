"""The model registry under stress: concurrent saves, killed saves, damaged pointers and cards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.sparse import random as sparse_random

import recommender.registry as registry
from recommender.cli import main
from recommender.data.events import EventWeights
from recommender.errors import RecommenderError
from recommender.models.als import ALS
from recommender.registry import ModelCard, list_models, load_model, resolve_version, save_model
from recommender.training import TrainConfig

USERS, ITEMS = np.arange(1, 21), np.arange(100, 115)


def _model() -> ALS:
    matrix = sparse_random(20, 15, density=0.3, format="csr", random_state=0, dtype=np.float32)
    return ALS(factors=4, iterations=2).fit(matrix)


def _card() -> ModelCard:
    return ModelCard(family="als", params={"factors": 4}, weights=EventWeights(), config=TrainConfig(),
                     validation={}, test={}, fingerprint="abcdef0123456789", shape=(20, 15), nnz=90,
                     source={"kind": "store"})


class _FrozenClock(datetime):
    """Every save in the same second: the case where versions collide."""

    @classmethod
    def now(cls, tz: object = None) -> _FrozenClock:  # type: ignore[override]
        return cls(2026, 1, 1, tzinfo=UTC)


def _save(model_dir: Path, model: ALS | None = None) -> str:
    return save_model(model_dir, model or _model(), USERS, ITEMS, _card()).version


def _leftovers(model_dir: Path) -> list[str]:
    return sorted(p.name for p in model_dir.iterdir() if p.name.startswith("."))


def test_concurrent_saves_into_one_folder_keep_every_model(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "datetime", _FrozenClock)
    model, start = _model(), threading.Barrier(6)
    versions: list[str] = []
    errors: list[BaseException] = []

    def save() -> None:
        start.wait()
        try:
            versions.append(_save(tmp_path, model))
        except BaseException as exc:  # the old registry lost all but one with an OSError
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    base = "20260101T000000Z-abcdef01"
    assert sorted(versions) == sorted([base, *(f"{base}-{n}" for n in range(2, 7))])
    for version in versions:
        saved = load_model(tmp_path, version)
        assert saved.card.version == version  # meta.json names the folder it ended up in
    assert resolve_version(tmp_path) == f"{base}-6"  # the newest wins `latest`
    assert _leftovers(tmp_path) == []


def test_a_save_that_loses_the_rename_race_takes_the_next_name(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "datetime", _FrozenClock)
    rename, raced = Path.rename, []

    def late_rival(self: Path, target: Path) -> Path:
        if self.name.startswith(".saving-") and not raced:  # another save takes this very name first
            raced.append(target)
            target.mkdir()
            (target / "meta.json").write_text("{}")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", late_rival)
    version = _save(tmp_path)
    assert version == "20260101T000000Z-abcdef01-2"
    assert (tmp_path / "20260101T000000Z-abcdef01" / "meta.json").read_text() == "{}"  # theirs untouched
    assert load_model(tmp_path, version).card.version == version


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_staging_of_killed_saves_is_cleaned(tmp_path: Path) -> None:
    dead, me = _dead_pid(), os.getpid()
    hour_ago = time.time() - 2 * registry._STALE_AFTER
    here = socket.gethostname()
    for name in (f".saving-{dead}-0001@{here}", f".saving-{me}-0002@{here}", f".saving-{me}-0003", ".saving-x9k2j1",
                 ".saving-old", f".saving-{dead}-0005@elsewhere"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "als.npz").write_bytes(b"PK")
    for name in (f".latest.{dead}-0004.tmp", ".latest.tmp"):
        (tmp_path / name).write_text("v\n")
    for old in (f".saving-{me}-0003", ".saving-old", ".latest.tmp"):
        os.utime(tmp_path / old, (hour_ago, hour_ago))
    _save(tmp_path)
    # kept: a live save's fresh staging, a fresh one without a pid, and another host's
    assert set(_leftovers(tmp_path)) == {f".saving-{dead}-0005@elsewhere", f".saving-{me}-0002@{here}",
                                         ".saving-x9k2j1"}


def test_a_save_killed_midway_leaves_nothing_behind_the_next_save(tmp_path: Path) -> None:
    script = f"""
import sys, time
import numpy as np
from recommender.models.als import ALS
from recommender.registry import save_model
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_hardening_registry import USERS, ITEMS, _card, _model

def stuck(self, folder):
    (folder / "als.npz").write_bytes(b"half a model")
    print("saving", flush=True)
    time.sleep(60)

ALS.save = stuck
save_model(__import__("pathlib").Path({str(tmp_path)!r}), _model(), USERS, ITEMS, _card())
"""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "saving"
        assert [p for p in _leftovers(tmp_path) if p.startswith(".saving-")]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    version = _save(tmp_path)
    assert _leftovers(tmp_path) == [] and load_model(tmp_path).version == version


@pytest.mark.parametrize("pointer", [b"\x00\xff\xfe\x80binary", b"", b"nope\n", b"x" * 100_000, "dir"])
def test_an_unreadable_latest_pointer_falls_back_to_the_newest(tmp_path: Path, pointer: bytes | str) -> None:
    first, second = _save(tmp_path), _save(tmp_path)
    assert resolve_version(tmp_path) == second
    (tmp_path / "latest").unlink()
    if pointer == "dir":
        (tmp_path / "latest").mkdir()
    else:
        assert isinstance(pointer, bytes)
        (tmp_path / "latest").write_bytes(pointer)
    assert load_model(tmp_path).version == second != first
    assert [m["latest"] for m in list_models(tmp_path)] == [False, True]


def test_version_order_counts_suffixes(tmp_path: Path) -> None:
    names = ["20260101T000000Z-abcdef01", "20260101T000000Z-abcdef01-10", "20260101T000000Z-abcdef01-9",
             "20250101T000000Z-01234567"]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "meta.json").write_text("{}")
    assert registry._versions(tmp_path) == [names[3], names[0], names[2], names[1]]


def test_one_malformed_card_does_not_hide_the_others(tmp_path: Path) -> None:
    good, bad = _save(tmp_path), _save(tmp_path)
    (tmp_path / bad / "meta.json").write_bytes(b'{"format": 2, "family": \xff')
    listed = list_models(tmp_path)
    assert [m["version"] for m in listed] == [good, bad]
    assert "error" not in listed[0] and "unreadable" in listed[1]["error"]
    for args in (["models"], ["models", "--json"]):
        result = CliRunner().invoke(main, [*args, "--model-dir", str(tmp_path)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert good in result.stdout and bad in result.stdout
    assert json.loads(CliRunner().invoke(main, ["models", "--json", "--model-dir", str(tmp_path)]).stdout)[1][
        "error"]
    with pytest.raises(RecommenderError, match="unreadable"):
        load_model(tmp_path, bad)
    assert load_model(tmp_path, good).version == good


def test_a_garbled_array_header_is_one_line(tmp_path: Path) -> None:
    import zipfile

    version = _save(tmp_path)
    path = tmp_path / version / "als.npz"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = members["item_factors.npy"]
    members["item_factors.npy"] = data[:10] + b"garbage" + data[17:]
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(RecommenderError, match="unreadable") as caught:
        load_model(tmp_path)
    assert len(str(caught.value).splitlines()) == 1
