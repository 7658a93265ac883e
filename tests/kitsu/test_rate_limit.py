"""A rate limit without Retry-After: the client slows down first, and 429s cost attempts only after."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import pytest

from kitsu_ingest.errors import TransientError
from kitsu_ingest.kitsu import AdaptiveRate, KitsuClient, ratelimit
from kitsu_ingest.kitsu.client import FREE_429S

BASE = "http://kitsu.test/api/edge"
PAGE = orjson.dumps({"data": [{"id": "1", "type": "users"}], "meta": {"count": 1}, "links": {}})


class TokenBucket:
    """An API that allows `rate` requests a second (a bucket of as many) and answers the rest 429,
    without Retry-After, as Cloudflare often does."""

    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.at = rate, rate, time.monotonic()
        self.limited = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        now = time.monotonic()
        self.tokens, self.at = min(self.rate, self.tokens + (now - self.at) * self.rate), now
        allowed = self.tokens >= 1
        self.tokens -= allowed
        self.limited += not allowed
        await asyncio.sleep(0.002)
        await send({"type": "http.response.start", "status": 200 if allowed else 429,
                    "headers": [(b"content-type", b"application/vnd.api+json")]})
        await send({"type": "http.response.body", "body": PAGE if allowed else b"error code: 1015"})


def test_a_rate_limit_without_retry_after_slows_the_client_before_it_costs_attempts() -> None:
    server = TokenBucket(50)

    async def go() -> tuple[list[Any], KitsuClient]:
        async with KitsuClient(BASE, transport=httpx.ASGITransport(app=server), rate=None, concurrency=8,
                               max_attempts=3, backoff=(0.001, 0.01)) as kitsu:
            results = await asyncio.gather(*(kitsu.get(f"/users/{i}") for i in range(150)), return_exceptions=True)
            return results, kitsu

    started = time.monotonic()
    results, kitsu = asyncio.run(go())
    assert [r for r in results if isinstance(r, Exception)] == []  # it was 79 of 150, each out of attempts
    assert server.limited > 0 and kitsu.stats.retries["429"] == server.limited
    assert kitsu.rate.rate is not None  # slowed from unlimited
    assert time.monotonic() - started < 10


def test_a_rate_is_halved_by_a_run_of_429s_not_by_a_stray_one(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    rate = AdaptiveRate(8)
    for _ in range(30):
        rate.succeeded(sent_at=99.0)
    assert rate.slow_down(sent_at=99.5) == 0.0 and rate.rate == 8  # a stray 429: tried again, free
    for _ in range(ratelimit.SLOW_AFTER - 2):
        assert rate.slow_down(sent_at=99.5) == 0.0
    assert rate.slow_down(sent_at=99.9) == ratelimit.SLOW_COOLDOWN and rate.rate == 4  # a run of them
    clock[0] = 100.2  # a request sent at the old rate: old news, it waits for the new rate to settle
    assert rate.slow_down(sent_at=100.1) == pytest.approx(0.3) and rate.rate == 4
    clock[0] = 101.0  # answers to requests sent at the settled rate judge it again
    for _ in range(ratelimit.SLOW_AFTER - 1):
        rate.slow_down(sent_at=100.8)
    assert rate.slow_down(sent_at=100.9) == ratelimit.SLOW_COOLDOWN and rate.rate == 2
    rate.rate = ratelimit.MIN_RATE  # as slow as it goes: a 429 now costs an attempt
    clock[0] = 102.0
    assert rate.slow_down(sent_at=101.9) is None


def test_a_turn_given_under_an_old_rate_is_waited_for_again() -> None:
    async def go() -> float:
        rate = AdaptiveRate(5)
        for _ in range(3):  # the bucket's burst
            await rate.acquire()
        waiting = [asyncio.ensure_future(rate.acquire()) for _ in range(3)]
        await asyncio.sleep(0.01)  # they wait in the bucket of 5 a second ...
        rate.rate, rate._limiter = 1.0, rate._make(1.0)  # ... when the rate is cut to 1 a second
        started = time.monotonic()
        await asyncio.gather(*waiting)
        return time.monotonic() - started

    assert asyncio.run(go()) >= 1.8  # three turns at 1 a second (at the old rate: 0.6 s)


def test_429s_that_cost_no_attempt_are_still_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AdaptiveRate, "slow_down", lambda self, sent_at: 0.0)  # a rate that always slows
    calls = 0

    def always_429(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429)

    async def go() -> None:
        async with KitsuClient(BASE, transport=httpx.MockTransport(always_429), rate=None, max_attempts=3,
                               backoff=(0.001, 0.005)) as kitsu:
            await kitsu.get("/users")

    with pytest.raises(TransientError, match="rate limited"):
        asyncio.run(go())
    assert calls == FREE_429S + 3
