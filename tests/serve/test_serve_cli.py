"""`recommend user / similar / batch / serve` end to end, and bad input as one line and exit 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from .conftest import Trained


def _one_error_line(code: int, err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_user_text_json_and_explain(trained: Trained) -> None:
    code, out, err = trained.cli("user", "1", "-n", "3", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["source"] == "model" and len(body["items"]) == 3
    code, out, err = trained.cli("user", "1", "-n", "2", "--explain",
                                 "--model", trained.version[:8])
    assert code == 0, err
    assert out.startswith(f"user 1, model {trained.version}") and out.count("because of:") == 2
    code, out, err = trained.cli("similar", "show", "1003", "-n", "2")
    assert code == 0, err
    assert out.startswith("similar to Show 1003 Sora (anime 1003)") and len(out.splitlines()) == 4


BAD_INPUT = [
    (["user", "abc"], ["'abc' is not a user id"]),
    (["user", "0"], ["is not a user id"]),
    (["user", "4242"], ["user 4242 is unknown", "--fetch"]),
    (["user", "1", "--model", "nope"], ["no model version matches 'nope'"]),
    (["similar", "77"], ["anime 77 is not in model"]),
    (["similar", "nothing like it"], ["no anime titled like"]),
]


def test_bad_input(trained: Trained) -> None:
    for args, needles in BAD_INPUT:
        _one_error_line(*trained.cli(*args)[::2], *needles)


def test_no_model_corrupt_model_and_no_store(trained: Trained, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from recommender.cli import main

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args))
        return result.exit_code, result.stderr

    _one_error_line(*run("user", "1", "--model-dir", str(tmp_path / "none"),
                         "--database-url", trained.url), "no saved model", "recommend train")
    _one_error_line(*run("user", "1", "--model-dir", str(trained.model_dir),
                         "--database-url", f"sqlite:///{tmp_path / 'missing.db'}"), "no store at")
    _one_error_line(*run("serve", "--model-dir", str(trained.model_dir), "--database-url",
                         "mysql://x/y"), "unsupported database scheme")
    als = trained.model_dir / trained.version / "als.npz"
    whole = als.read_bytes()
    for broken in (whole[: len(whole) // 2], b"", b"not a zip at all"):
        als.write_bytes(broken)
        _one_error_line(*trained.cli("user", "1")[::2], trained.version, "unreadable")
        _one_error_line(*trained.cli("batch", "--out", str(tmp_path / "b.parquet"))[::2],
                        "unreadable")
    als.write_bytes(whole)
    (trained.model_dir / trained.version / "ids.npz").write_bytes(b"PK\x03\x04")
    _one_error_line(*trained.cli("similar", "1000")[::2], "unreadable")


def test_batch_writes_every_users_top_n(trained: Trained, tmp_path: Path) -> None:
    out = tmp_path / "out" / "recs.parquet"
    code, _, err = trained.cli("batch", "--out", str(out), "-n", "5", "--threads", "2")
    assert code == 0, err
    assert "users/s" in err
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["user_id", "rank", "anime_id", "score"]
    rec = trained.recommender()
    assert frame["user_id"].nunique() == len(rec.saved.user_ids)
    assert (frame.groupby("user_id")["rank"].apply(list) == pd.Series([[1, 2, 3, 4, 5]] * 60,
            index=frame["user_id"].unique())).all()
    for user in (1, 7, 44):
        mine = frame[frame["user_id"] == user]
        single = rec.user(user, n=5)
        assert mine["anime_id"].tolist() == [r.anime_id for r in single.items]
        assert mine["score"].to_numpy() == pytest.approx([r.score for r in single.items], rel=1e-4)
        assert not set(mine["anime_id"]) & rec.catalogue.user_events(user).excluded()
    code, _, err = trained.cli("batch", "--out", str(out), "-n", "30", "--include-planned")
    assert code == 0, err
    planned = pd.read_parquet(out)
    assert 1028 in set(planned[planned["user_id"] == 7]["anime_id"])
    assert 1004 not in set(planned[planned["user_id"] == 7]["anime_id"])
    code, _, err = trained.cli("batch", "--out", str(out), "-n", "30", "--no-exclude")
    assert code == 0 and len(pd.read_parquet(out)) == 60 * 30


def test_serve_port_in_use(trained: Trained) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _one_error_line(*trained.cli("serve", "--port", str(port))[::2], f"127.0.0.1:{port}",
                        "in use")


def test_serve_over_loopback(trained: Trained, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": trained.url, "MODEL_DIR": str(trained.model_dir)}
    command = [str(Path(sys.executable).parent / "recommend"), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.1)
        assert health.json()["model_version"] == trained.version
        recs = httpx.get(f"http://127.0.0.1:{port}/users/3/recommendations?n=4").json()
        assert len(recs["items"]) == 4
        assert httpx.get(f"http://127.0.0.1:{port}/users/x/recommendations").status_code == 400
    finally:
        server.terminate()
        server.wait(10)
    assert "serving on http://127.0.0.1" in server.stderr.read()
