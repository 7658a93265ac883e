"""The HTTP API against hostile input and slow clients: 400s not 500s, heavy work off the event
loop, honest health, no server paths in bodies, and a deadline for request heads."""

from __future__ import annotations

import logging
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():  # starlette's notice about httpx, the client it is built on
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from recommender.data.store import StoreReader
from recommender.serving.holder import ModelHolder
from recommender.serving.recommender import Recommender
from recommender.webapp import create_app

from .conftest import Trained, train_model


@pytest.fixture
def client(trained: Trained) -> Iterator[TestClient]:
    holder = ModelHolder(trained.model_dir, None, StoreReader.open(trained.url), interval=60)
    with TestClient(create_app(holder), raise_server_exceptions=False) as test_client:
        yield test_client


def _json_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "status"} and body["status"] == status and isinstance(body["error"], str)
    return str(body["error"])


MALFORMED = [
    "/users/%C2%B2/recommendations", "/users/%D9%A3/recommendations", "/users/12345678901234567890/recommendations",
    "/users/9223372036854775808/recommendations", "/users/1/recommendations?n=" + "9" * 5000,
    "/users/1/recommendations?n=%C2%B2", "/users/1/recommendations?n=-1", "/anime/%C2%B2/similar",
    "/anime/99999999999999999999/similar", "/anime/1000/similar?n=1001", "/users/%00/recommendations",
]


def test_malformed_ids_and_n_are_400_without_a_traceback(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    for path in MALFORMED:
        with caplog.at_level(logging.WARNING):
            message = _json_error(client.get(path), 400)
        assert len(message) < 200 and message.isprintable(), path
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_the_largest_id_is_a_404_not_an_overflow(client: TestClient) -> None:
    assert "unknown" in _json_error(client.get("/users/9223372036854775807/recommendations"), 404)


def test_method_not_allowed_says_what_is(client: TestClient) -> None:
    response = client.post("/health")
    _json_error(response, 405)
    assert "GET" in response.headers["allow"]


def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_clients_host(client: TestClient) -> None:
    response = client.get("/health/", headers={"host": "evil.example"}, follow_redirects=False)
    _json_error(response, 404)
    assert "location" not in response.headers


def test_explain_is_limited_to_100(client: TestClient) -> None:
    assert "1 to 100 with explain=true" in _json_error(
        client.get("/users/1/recommendations?n=101&explain=true"), 400)
    assert client.get("/users/1/recommendations?n=100&explain=true").status_code == 200
    assert client.get("/users/1/recommendations?n=1000").status_code == 200


def test_heavy_requests_leave_the_event_loop_free(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    user = Recommender.user

    def slow(self: Recommender, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("explain"):
            time.sleep(0.6)  # an explanation of many items
        return user(self, *args, **kwargs)

    monkeypatch.setattr(Recommender, "user", slow)
    heavy = [threading.Thread(target=client.get, args=("/users/1/recommendations?n=50&explain=true",))
             for _ in range(4)]
    for thread in heavy:
        thread.start()
    time.sleep(0.1)
    started = time.perf_counter()
    assert client.get("/health").status_code == 200
    assert client.get("/users/2/recommendations?n=5").status_code == 200  # cheap: on the loop
    assert time.perf_counter() - started < 0.4  # on the loop they would wait 0.6 s at least
    for thread in heavy:
        thread.join()


def test_cheap_requests_stay_on_the_loop(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                         add_entries: Any) -> None:
    import anyio.to_thread

    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(str(function))
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    for path in ("/users/1/recommendations?n=10", "/anime/1000/similar?n=100", "/health"):
        assert client.get(path).status_code == 200
    assert hops == []
    add_entries(777, [1000, 1003])  # not in the model: folded in, in a thread
    for path in ("/users/1/recommendations?n=2&explain=true", "/users/1/recommendations?n=101",
                 "/users/777/recommendations", "/anime/1000/similar?n=500"):
        assert client.get(path).status_code == 200
    assert len(hops) == 4


def test_health_is_degraded_while_the_newest_model_fails_to_load(trained: Trained, client: TestClient) -> None:
    holder = _holder(client)
    broken = train_model(trained.engine, trained.model_dir, seed=2)
    (trained.model_dir / broken / "als.npz").write_bytes(b"PK\x03\x04 truncated")
    assert not holder.refresh()
    body = client.get("/health").json()
    assert body["status"] == "degraded" and body["model_version"] == trained.version
    assert f"MODEL_DIR/{broken}/als.npz" in body["error"] and str(trained.model_dir) not in body["error"]
    assert client.get("/users/1/recommendations").status_code == 200  # still answering
    assert not holder.refresh()  # the same broken files are not read again
    (trained.model_dir / broken).rename(trained.model_dir / f".{broken}")  # withdrawn
    assert not holder.refresh()
    assert client.get("/health").json()["status"] == "ok"


def _holder(client: TestClient) -> ModelHolder:
    app: Any = client.app
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        for cell in getattr(endpoint, "__closure__", None) or ():
            if isinstance(cell.cell_contents, ModelHolder):
                return cell.cell_contents
    raise AssertionError("no holder")


def test_503_bodies_never_show_server_paths(trained: Trained, tmp_path: Path) -> None:
    empty = tmp_path / "deep" / "models"
    holder = ModelHolder(empty, None, StoreReader.open(trained.url), interval=60)
    with TestClient(create_app(holder), raise_server_exceptions=False) as client:
        for path in ("/health", "/users/1/recommendations", "/anime/1000/similar"):
            message = _json_error(client.get(path), 503)
            assert "no saved model in MODEL_DIR" in message and str(tmp_path) not in message
    assert holder.masked(f"cannot open {tmp_path}/x/store.db: locked") == "cannot open store.db: locked"
    assert holder.masked("use postgresql+psycopg://user@host/dbname") == "use postgresql+psycopg://user@host/dbname"


# -- property-based: any path and query is answered, never with a 500 ------------------------
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=25)
_SEGMENT = st.one_of(_TEXT, st.integers(-5, 2**70).map(str),
                     st.sampled_from(["1", "1000", "900", "²", "%ff", "..", ""]))
_PARAMS = st.dictionaries(st.one_of(st.sampled_from(["n", "explain", "include_planned"]), _TEXT),
                          st.one_of(_TEXT, st.integers(-5, 10**30).map(str)), max_size=3)


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=st.sampled_from(["/users/{}/recommendations", "/anime/{}/similar", "/{}", "/users/{}", "/health{}"]),
       segment=_SEGMENT, params=_PARAMS, raw=st.booleans())
def test_any_path_and_query_is_answered_in_json(client: TestClient, template: str, segment: str,
                                                params: dict[str, str], raw: bool) -> None:
    path = template.format(segment if raw and "/" not in segment and "?" not in segment and "#" not in segment
                           else quote(segment, safe=""))
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='') if not raw else v.replace('&', '')}"
                     for k, v in params.items())
    try:
        response = client.get(f"{path}?{query}" if query else path)
    except (httpx.InvalidURL, UnicodeEncodeError):
        return  # not a URL a client could send
    assert response.status_code != 500, (path, query, response.text)
    if response.status_code >= 400:
        _json_error(response, response.status_code)


# -- a deadline for request heads --------------------------------------------------------------
@pytest.fixture
def server(trained: Trained) -> Iterator[int]:
    from recommender.serving.server import make_server

    holder = ModelHolder(trained.model_dir, None, StoreReader.open(trained.url), interval=60)
    uvicorn_server = make_server(create_app(holder, watch=False), header_timeout=0.4, keep_alive=5)
    holder.refresh()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield port
    uvicorn_server.should_exit = True
    thread.join(10)
    sock.close()


def _held_for(port: int, first: bytes, limit: float = 3.0) -> float:
    """Seconds until the server closes a connection that sends `first`, then a byte every 0.1 s."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(first)
        conn.settimeout(0.1)
        started = time.monotonic()
        while time.monotonic() - started < limit:
            try:
                if conn.recv(1024) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                pass
            try:
                conn.sendall(b"X")
            except OSError:
                return time.monotonic() - started
    return limit


def test_a_client_trickling_its_headers_is_cut_off(server: int) -> None:
    assert _held_for(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ") < 1.5
    assert _held_for(server, b"") < 1.5  # nothing at all


def test_keep_alive_clients_and_slow_answers_are_not_cut(server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{server}") as http:
        for _ in range(4):  # one connection, requests 0.3 s apart: longer in all than the deadline
            assert http.get("/health").status_code == 200
            time.sleep(0.3)
        user = Recommender.user
        monkeypatch.setattr(Recommender, "user", lambda self, *a, **k: (time.sleep(0.8), user(self, *a, **k))[1])
        assert http.get("/users/1/recommendations?n=3", timeout=10).status_code == 200
        assert http.get("/health").status_code == 200
