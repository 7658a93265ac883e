"""Hostile APIs for the tests: the emulator behind a wrapper that lies about what it serves, and
a real HTTP server on loopback (uvicorn in a thread) for what only a socket shows (redirects,
compressed and endless bodies)."""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import uvicorn

Lie = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Given a request's URL and the document the emulator answered, the document to send instead."""
Trap = Callable[[Any, Any], Awaitable[None]]
"""An ASGI answer of its own to a request: (scope, send)."""


class Trapped:
    """An ASGI app serving `app`, but answering the requests under one of `paths` (those `when`
    picks) with `trap` while `on` (turn it off, and the API tells the truth again). `hosts`
    collects the Host header of every request it was sent."""

    def __init__(self, app: Any, trap: Trap, paths: tuple[str, ...] = ("/api/edge/library-entries",),
                 when: Callable[[Any], bool] = lambda scope: True) -> None:
        self.app, self.trap, self.paths, self.when, self.on = app, trap, paths, when, True
        self.hosts: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.hosts.append(dict(scope["headers"]).get(b"host", b"").decode())
        if scope["type"] == "http" and self.on and scope["path"].startswith(self.paths) and self.when(scope):
            await self.trap(scope, send)
            return
        await self.app(scope, receive, send)


class Lying:
    """An ASGI app serving `app`'s answers, each collection it serves under one of `paths` passed
    through `lie` first. `hosts` collects the Host header of every request it was sent."""

    def __init__(self, app: Any, lie: Lie, paths: tuple[str, ...] = ("/api/edge/library-entries",)) -> None:
        self.app, self.lie, self.paths = app, lie, paths
        self.hosts: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.hosts.append(dict(scope["headers"]).get(b"host", b"").decode())
        if not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        url = f"http://{self.hosts[-1]}{scope['path']}?{scope['query_string'].decode()}"
        document = orjson.loads(body)
        collection = start["status"] == 200 and isinstance(document.get("data"), list)
        answer = orjson.dumps(self.lie(url, document) if collection else document)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


@contextmanager
def loopback(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port) while the block runs; yields `http://127.0.0.1:PORT`."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the loopback server did not start")
            threading.Event().wait(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def respond(send: Any, status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None,
                  more: AsyncIterator[bytes] | None = None) -> None:
    """Send a response: `body`, then the chunks `more` yields, if any."""
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body, "more_body": more is not None})
    if more is not None:
        async for chunk in more:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})


def gzip_bomb(decoded: int = 2**30) -> bytes:
    """A gzip body of `decoded` zeros (1 GiB: about 1 MiB)."""
    packer, zeros = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(2**20)
    return b"".join([*(packer.compress(zeros) for _ in range(decoded // len(zeros))), packer.flush()])


async def endless(chunks: int, size: int = 2**20) -> AsyncIterator[bytes]:
    """`chunks` chunks of `size` bytes (a body of chunks * size bytes, sent without its length)."""
    chunk = bytes(size)
    for _ in range(chunks):
        yield chunk
