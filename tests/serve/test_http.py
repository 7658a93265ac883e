"""The HTTP API: status codes, JSON errors, health, hot reload of a newer model."""

from __future__ import annotations

import warnings
from pathlib import Path

with warnings.catch_warnings():  # starlette's notice about httpx, the client it is built on
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from recommender.data.store import StoreReader
from recommender.serving.holder import ModelHolder
from recommender.webapp import create_app

from .conftest import Trained, train_model


def _client(trained: Trained, model_dir: Path | None = None, version: str | None = None) -> tuple[
        TestClient, ModelHolder]:
    holder = ModelHolder(model_dir or trained.model_dir, version, StoreReader.open(trained.url),
                         interval=60)
    return TestClient(create_app(holder), raise_server_exceptions=False), holder


def test_endpoints_and_status_codes(trained: Trained) -> None:
    client, _ = _client(trained)
    with client:
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["model_version"] == trained.version and health.json()["loaded_at"]

        ok = client.get("/users/1/recommendations", params={"n": 3})
        assert ok.status_code == 200 and ok.headers["content-type"] == "application/json"
        body = ok.json()
        assert body["user_id"] == 1 and body["source"] == "model" and len(body["items"]) == 3
        assert {"anime_id", "title", "subtype", "score"} <= set(body["items"][0])
        explained = client.get("/users/1/recommendations?n=2&explain=true").json()
        assert explained["items"][0]["because"]
        assert client.get("/users/900/recommendations").json()["source"] == "fallback"

        similar = client.get("/anime/1000/similar?n=4")
        assert similar.status_code == 200 and len(similar.json()["items"]) == 4
        assert similar.json()["anime"]["id"] == 1000

        for path, status in [("/users/abc/recommendations", 400), ("/users/0/recommendations", 400),
                             ("/users/1/recommendations?n=0", 400),
                             ("/users/1/recommendations?n=x", 400),
                             ("/users/1/recommendations?explain=maybe", 400),
                             ("/anime/x1/similar", 400), ("/users/4242/recommendations", 404),
                             ("/anime/77/similar", 404), ("/nowhere", 404)]:
            response = client.get(path)
            assert response.status_code == status, path
            assert response.json()["status"] == status and response.json()["error"]


def test_no_model_is_503_until_one_is_saved(trained: Trained, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    client, holder = _client(trained, empty)
    with client:
        for path in ("/health", "/users/1/recommendations", "/anime/1000/similar"):
            response = client.get(path)
            assert response.status_code == 503 and "no saved model" in response.json()["error"]
        version = train_model(trained.engine, empty)
        assert holder.refresh()
        assert client.get("/health").json()["model_version"] == version
        assert client.get("/users/1/recommendations").status_code == 200


def test_newer_model_is_picked_up_and_a_bad_one_ignored(trained: Trained) -> None:
    client, holder = _client(trained)
    with client:
        first = client.get("/users/2/recommendations").json()
        assert first["version"] == trained.version
        newer = train_model(trained.engine, trained.model_dir, seed=1, factors=6)
        assert holder.refresh() and not holder.refresh()
        second = client.get("/users/2/recommendations").json()
        assert second["version"] == newer != trained.version
        # a corrupt newest model: the server keeps answering with the one it has
        broken = train_model(trained.engine, trained.model_dir, seed=2)
        (trained.model_dir / broken / "als.npz").write_bytes(b"PK\x03\x04 truncated")
        assert not holder.refresh()
        assert client.get("/health").json()["model_version"] == newer
        assert "corrupt or truncated" in (holder.error or "")


def test_the_watcher_thread_reloads(trained: Trained) -> None:
    import time

    holder = ModelHolder(trained.model_dir, None, StoreReader.open(trained.url), interval=0.05)
    with TestClient(create_app(holder)) as client:
        newer = train_model(trained.engine, trained.model_dir, seed=3)
        deadline = time.monotonic() + 10
        while client.get("/health").json()["model_version"] != newer:
            assert time.monotonic() < deadline, "the newer model was not picked up"
            time.sleep(0.05)


def test_pinned_version_stays(trained: Trained) -> None:
    client, holder = _client(trained, version=trained.version[:10])
    with client:
        train_model(trained.engine, trained.model_dir, seed=4)
        holder.refresh()
        assert client.get("/health").json()["model_version"] == trained.version


def test_an_unreadable_store_is_a_json_503(trained: Trained, tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "bare.db").close()  # a file without tables
    client, holder = _client(trained)
    with client:
        assert holder.current is not None
        holder.current.catalogue = StoreReader.open(f"sqlite:///{tmp_path / 'bare.db'}")
        response = client.get("/users/1/recommendations")
        assert response.status_code == 503
        assert "kitsu-ingest db upgrade" in response.json()["error"]


def test_start_up_objects_are_frozen_out_of_the_collector_while_serving(trained: Trained) -> None:
    import gc
    import threading
    import time

    client, holder = _client(trained)
    with client:
        deadline = time.monotonic() + 10
        while any(t.name == "warm" for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the warm thread did not end"
            time.sleep(0.02)
        assert holder.current is not None and holder.current.model._implicit is not None  # type: ignore[attr-defined]
        assert gc.get_freeze_count() > 0 and client.get("/health").status_code == 200
    assert gc.get_freeze_count() == 0  # unfrozen when the app stops
