"""A polite request rate: a leaky bucket that backs off on 429 and recovers gradually."""

from __future__ import annotations

import asyncio
import time

from aiolimiter import AsyncLimiter

__all__ = ["AdaptiveRate"]

MIN_RATE = 0.2
SLOW_FACTOR = 0.7  # on a 429 without Retry-After
SLOW_COOLDOWN = 1.0  # seconds: one slow-down per burst of 429s, not one per request in flight
RECOVER_AFTER = 20  # successes at one rate before trying a faster one
RECOVER_FACTOR = 1.1
UNLIMITED = 1000.0  # an unlimited client that recovered this far is unlimited again
BURST = 3  # requests the bucket holds: enough to catch up after the event loop was busy


class AdaptiveRate:
    """Requests per second, at most `target` (None: unlimited until a 429 says otherwise).

    The bucket holds at most three requests, so requests are evenly spaced, and a turn missed
    while the event loop was busy is caught up with a burst of at most three. A 429 with
    `Retry-After` pauses every request for that long; one without cuts the rate by 30% (from the
    rate achieved, when unlimited; at most once a second), and it climbs back by 10% per 20
    successes up to the target. Under random 429s the two settle at a steady rate.
    """

    def __init__(self, target: float | None) -> None:
        self.target = target if target and target > 0 else None
        self.rate: float | None = self.target
        self._limiter = self._make(self.rate)
        self._paused_until = 0.0
        self._successes = 0
        self._slowed_at = -SLOW_COOLDOWN
        self._recent: list[float] = []

    @staticmethod
    def _make(rate: float | None) -> AsyncLimiter | None:
        if rate is None:
            return None
        burst = max(1, min(BURST, int(rate)))
        return AsyncLimiter(burst, burst / rate)

    async def acquire(self) -> None:
        """Wait for the next request's turn."""
        while (delay := self._paused_until - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        if self._limiter is not None:
            await self._limiter.acquire()
        now = time.monotonic()
        self._recent.append(now)
        if len(self._recent) > 256:
            del self._recent[:128]

    def observed_rate(self) -> float:
        """Requests per second over the last 50 requests (0 before there are two)."""
        window = self._recent[-50:]
        span = window[-1] - window[0] if len(window) > 1 else 0.0
        return (len(window) - 1) / span if span > 0 else 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` (a server's Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def slow_down(self) -> None:
        """Slow down after a 429 that gave no Retry-After."""
        now = time.monotonic()
        if now - self._slowed_at < SLOW_COOLDOWN:
            return
        self._slowed_at = now
        current = self.rate if self.rate is not None else max(self.observed_rate(), 2 * MIN_RATE)
        self.rate = max(MIN_RATE, current * SLOW_FACTOR)
        self._limiter = self._make(self.rate)
        self._successes = 0

    def succeeded(self) -> None:
        """Count a success; after enough of them, speed up towards the target."""
        if self.rate is None or self.rate == self.target:
            return
        self._successes += 1
        if self._successes < RECOVER_AFTER:
            return
        self._successes = 0
        faster = self.rate * RECOVER_FACTOR
        if self.target is not None:
            faster = min(faster, self.target)
        self.rate = None if self.target is None and faster >= UNLIMITED else faster
        self._limiter = self._make(self.rate)
