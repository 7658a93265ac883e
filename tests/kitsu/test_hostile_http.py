"""The client against a real HTTP server on loopback that misbehaves: redirect loops and redirects to
another host (refused in one line), gzip bombs and endless bodies (dropped past MAX_BODY, in
bounded memory)."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from kitsu_ingest.errors import RequestRejected, TransientError
from kitsu_ingest.kitsu import KitsuClient
from kitsu_ingest.kitsu.client import MAX_BODY, MAX_REDIRECTS

from .hostile import endless, gzip_bomb, loopback, respond

PAGE = orjson.dumps({"data": [{"id": "1", "type": "users"}], "meta": {"count": 1}, "links": {}})
JSON = [(b"content-type", b"application/vnd.api+json")]


class Misbehaving:
    """/api/edge/users answers a page; the other paths misbehave, each its own way."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (host, path)
        self.port = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        self.requests.append((dict(scope["headers"])[b"host"].decode(), path))
        if path == "/api/edge/users":
            await respond(send, 200, PAGE, JSON)
        elif path == "/api/edge/moved":
            await respond(send, 301, headers=[(b"location", b"/api/edge/users")])
        elif path == "/api/edge/loop":
            await respond(send, 302, headers=[(b"location", b"/api/edge/loop")])
        elif path == "/api/edge/elsewhere":
            await respond(send, 302, headers=[(b"location", f"http://localhost:{self.port}/api/edge/users".encode())])
        elif path == "/api/edge/bomb":
            await respond(send, 200, BOMB, [*JSON, (b"content-encoding", b"gzip")])
        elif path == "/api/edge/endless":
            await respond(send, 200, headers=JSON, more=endless(300))  # 300 MB, no Content-Length
        elif path == "/api/edge/declared":
            await respond(send, 200, b"{}", [*JSON, (b"content-length", b"300000000")])


BOMB = gzip_bomb()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Misbehaving]]:
    app = Misbehaving()
    with loopback(app) as url:
        app.port = int(url.rsplit(":", 1)[1])
        yield url, app


def get(base: str, path: str) -> Any:
    async def go() -> Any:
        async with KitsuClient(f"{base}/api/edge", rate=None, max_attempts=2, backoff=(0.001, 0.005)) as kitsu:
            return await kitsu.get(path)

    return asyncio.run(go())


def test_a_redirect_within_the_host_is_followed(server: tuple[str, Misbehaving]) -> None:
    base, _ = server
    assert get(base, "/moved").data[0]["id"] == "1"


def test_a_redirect_loop_is_one_line_and_not_retried(server: tuple[str, Misbehaving]) -> None:
    base, app = server
    app.requests.clear()
    with pytest.raises(RequestRejected, match=f"redirects more than {MAX_REDIRECTS} times") as caught:
        get(base, "/loop")
    assert "\n" not in str(caught.value) and len(app.requests) == MAX_REDIRECTS + 1  # was TooManyRedirects


def test_a_redirect_to_another_host_is_refused_before_it_is_followed(server: tuple[str, Misbehaving]) -> None:
    base, app = server
    app.requests.clear()
    with pytest.raises(RequestRejected, match=r"redirects to http://localhost:\d+/api/edge/users, on another host"):
        get(base, "/elsewhere")
    assert [host for host, _ in app.requests] == [base.removeprefix("http://")]


@pytest.mark.parametrize("path", ["/bomb", "/endless", "/declared"])
def test_a_body_past_the_cap_is_dropped_in_bounded_memory(server: tuple[str, Misbehaving], path: str) -> None:
    base, _ = server
    tracemalloc.start()
    try:
        with pytest.raises(TransientError, match=f"larger than {MAX_BODY // 2**20} MiB once decoded") as caught:
            get(base, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.cause == "too-large"
    assert peak < 3 * MAX_BODY  # the 1 GiB bomb ended in a MemoryError; 300 MB took 1.7 GB
