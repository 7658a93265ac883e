"""uvicorn for the HTTP API, with a deadline for every request's head.

uvicorn's `timeout_keep_alive` closes a connection left idle after a response, but that timer is
not armed before a connection's first request and any byte received cancels it; h11's
`h11_max_incomplete_event_size` bounds the size of a request head, not the time it takes. So a
client trickling header bytes held its connection for as long as it liked (five such clients were
held 45 s). `HeaderDeadline`, uvicorn's own h11 protocol with one timer more, closes a connection
that has not sent a whole request head within `header_timeout` seconds of connecting or of its
previous response; a request being answered is never cut.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HEADER_TIMEOUT", "KEEP_ALIVE", "MAX_HEAD", "HeaderDeadline", "bind", "is_loopback", "make_server",
           "run_server"]

HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's head (a browser or curl needs milliseconds)."""
KEEP_ALIVE = 5
"""Seconds an idle keep-alive connection is kept (uvicorn's `timeout_keep_alive`)."""
MAX_HEAD = 16 * 1024
"""Bytes of a request head, at most (h11's limit; ours are a few hundred)."""


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is not whole in time."""

    header_timeout: float = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request head came whole: the next one has its own deadline
            self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm()  # answering a request: its time is not the client's to account for
        elif not self.transport.is_closing():
            self.transport.close()


def make_server(app: Any, *, header_timeout: float = HEADER_TIMEOUT, keep_alive: int = KEEP_ALIVE) -> Any:
    """A uvicorn.Server for `app`: quiet (warnings only, no access log), keep-alive connections
    closed after `keep_alive` idle seconds, request heads due within `header_timeout` seconds."""
    import uvicorn

    protocol = type("HeaderDeadline", (HeaderDeadline,), {"header_timeout": header_timeout})
    config = uvicorn.Config(app, http=protocol, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=5, timeout_keep_alive=keep_alive,
                            h11_max_incomplete_event_size=MAX_HEAD)
    return uvicorn.Server(config)


def run_server(app: Any, sock: socket.socket) -> None:
    """Serve `app` on the bound socket `sock` until interrupted (SIGINT, SIGTERM)."""
    make_server(app).run(sockets=[sock])


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) (port 0: any free one); RecommenderError in one line if
    it cannot be (the port in use, an address not of this machine)."""
    import errno

    from recommender.errors import RecommenderError

    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RecommenderError(f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                               + (" (the port is in use)" if exc.errno == errno.EADDRINUSE else "")) from None
    return sock


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"
