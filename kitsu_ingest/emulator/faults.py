"""Seeded, reproducible fault injection: latency, per-client 429s, 5xx, 403, hangs, bad JSON, drops.

Each request draws its fate from a generator seeded by (seed, method, path+query, attempt), where
`attempt` counts how many times in a row that same URL has just been faulted. So the n-th retry of a URL
meets the same fault whatever the concurrency or the order of other requests, and a URL that has once
succeeded starts again from attempt 0. The rate limit is a per-client token bucket (wall-clock based).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx

from kitsu_ingest.errors import ConfigError

__all__ = ["DroppedConnection", "FaultConfig", "FaultMiddleware", "parse_latency"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HTML = b"<!DOCTYPE html><html><head><title>%s | kitsu.app | Cloudflare</title></head><body>%s</body></html>"
_500 = b'{"errors":[{"title":"Internal Server Error","detail":"Internal Server Error","code":"500","status":"500"}]}'


@dataclass(frozen=True)
class FaultConfig:
    """What can go wrong, all off by default. Probabilities are per request, checked in this order:
    403, 429, 5xx, hang, malformed, drop (they are exclusive; their sum must be at most 1)."""

    latency_ms: tuple[float, float] | None = None
    """Uniform latency range in ms per response, e.g. (300, 2100); (x, x) for a fixed delay."""
    rate_limit: float | None = None
    """Requests per second allowed per client address (token bucket); beyond it: 429."""
    rate_burst: float | None = None
    """Bucket size (default: max(1, rate_limit))."""
    retry_after: bool = True
    """Send `Retry-After` (whole seconds) with a 429 (Cloudflare often does not)."""
    p_5xx: float = 0.0
    p_403: float = 0.0
    p_429: float = 0.0
    """Random 429s from the edge, whatever the client's rate (Retry-After as `retry_after` says)."""
    p_hang: float = 0.0
    hang_seconds: float = 60.0
    """How long a hung request waits before answering (a client should have timed out)."""
    p_malformed: float = 0.0
    """200 with a truncated JSON body or an HTML page instead of JSON."""
    p_drop: float = 0.0
    """The connection closes mid-body (the client sees a protocol error)."""
    seed: int | None = None
    """Fault seed; None uses the population seed."""

    def __post_init__(self) -> None:
        probs = (self.p_403, self.p_429, self.p_5xx, self.p_hang, self.p_malformed, self.p_drop)
        if any(not 0.0 <= p <= 1.0 for p in probs) or sum(probs) > 1.0:
            raise ConfigError("fault probabilities must be in [0, 1] and sum to at most 1")
        if self.latency_ms is not None and not 0 <= self.latency_ms[0] <= self.latency_ms[1] < math.inf:
            raise ConfigError("latency must be a range lo-hi with 0 <= lo <= hi (ms)")
        if self.rate_limit is not None and not (self.rate_limit > 0 and math.isfinite(self.rate_limit)):
            raise ConfigError("rate limit must be a positive number of requests per second")
        if not (self.hang_seconds >= 0 and math.isfinite(self.hang_seconds)):
            raise ConfigError("hang seconds must be a finite number, not negative")

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.rate_limit or self.p_5xx or self.p_403 or self.p_429 or self.p_hang
                    or self.p_malformed or self.p_drop)


class DroppedConnection(httpx.RemoteProtocolError):
    """The fault `p_drop`: the connection closed mid-body (what an in-process client sees as it
    would see it over the network; a served emulator logs it in one line)."""


def parse_latency(text: str | None) -> tuple[float, float] | None:
    """'300-2100' -> (300, 2100); '250' -> (250, 250); None/'' -> None."""
    if not text:
        return None
    try:
        lo, _, hi = text.partition("-")
        pair = (float(lo), float(hi or lo))
    except ValueError:
        raise ConfigError(f"latency {text!r} is not a number of ms or a range like 300-2100") from None
    if not 0 <= pair[0] <= pair[1] < math.inf:
        raise ConfigError(f"latency {text!r} must be lo-hi with 0 <= lo <= hi (finite)")
    return pair


class FaultMiddleware:
    """Pure ASGI middleware applying a FaultConfig in front of the emulator."""

    def __init__(self, app: ASGIApp, faults: FaultConfig, seed: int) -> None:
        self.app, self.faults = app, faults
        self.seed = faults.seed if faults.seed is not None else seed
        self._attempts: dict[str, int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.faults.active:
            await self.app(scope, receive, send)
            return
        f = self.faults
        if f.rate_limit and not self._take_token(str((scope.get("client") or ("?",))[0])):
            headers = [(b"retry-after", str(math.ceil(1 / f.rate_limit)).encode())] if f.retry_after else []
            await _respond(send, 429, _HTML % (b"429", b"error code: 1015"), b"text/html", headers)
            return
        key = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
        attempt = self._attempts.get(key, 0)
        digest = hashlib.blake2b(f"{self.seed}|{key}|{attempt}".encode(), digest_size=8).digest()
        rng = random.Random(int.from_bytes(digest, "big"))
        fate, pick, cut = rng.random(), rng.random(), rng.random()
        if f.latency_ms:
            await asyncio.sleep(rng.uniform(*f.latency_ms) / 1000)
        kind = _choose(fate, (("403", f.p_403), ("429", f.p_429), ("5xx", f.p_5xx), ("hang", f.p_hang),
                              ("malformed", f.p_malformed), ("drop", f.p_drop)))
        if kind is None:
            self._attempts.pop(key, None)
            await self.app(scope, receive, send)
            return
        self._attempts[key] = attempt + 1
        if kind == "403":
            await _respond(send, 403, _HTML % (b"Access denied", b"error code: 1020"), b"text/html")
        elif kind == "429":
            headers = [(b"retry-after", b"1")] if f.retry_after else []
            await _respond(send, 429, _HTML % (b"429", b"error code: 1015"), b"text/html", headers)
        elif kind == "5xx":
            status = (500, 502, 503, 504)[int(pick * 4)]
            if status == 500:
                await _respond(send, 500, _500, b"application/vnd.api+json")
            else:
                await _respond(send, status, _HTML % (str(status).encode(), b"Bad gateway"), b"text/html")
        elif kind == "hang":
            await asyncio.sleep(f.hang_seconds)
            await self.app(scope, receive, send)
        else:
            await self._mangle(scope, receive, send, kind, pick, cut)

    def _take_token(self, client: str) -> bool:
        rate = float(self.faults.rate_limit or 0)
        burst = self.faults.rate_burst or max(1.0, rate)
        now = time.monotonic()
        tokens, last = self._buckets.get(client, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        ok = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if ok else tokens, now)
        return ok

    async def _mangle(self, scope: Scope, receive: Receive, send: Send, kind: str, pick: float,
                      cut: float) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if kind == "malformed":
            if pick < 0.5:
                await _respond(send, 200, body[: int(len(body) * cut)], b"application/vnd.api+json")
            else:
                await _respond(send, 200, _HTML % (b"Just a moment...", b"Checking your browser"),
                               b"text/html")
            return
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        query = scope.get("query_string", b"").decode("latin-1")
        raise DroppedConnection(f"dropped the connection mid-body (fault p_drop): {scope['method']} {scope['path']}"
                                + (f"?{query}" if query else ""))


def _choose(u: float, options: tuple[tuple[str, float], ...]) -> str | None:
    acc = 0.0
    for name, p in options:
        acc += p
        if u < acc:
            return name
    return None


async def _respond(send: Send, status: int, body: bytes, content_type: bytes,
                   headers: list[tuple[bytes, bytes]] | None = None) -> None:
    head = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
