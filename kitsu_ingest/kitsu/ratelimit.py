"""A polite request rate: a leaky bucket that backs off on 429 and recovers gradually."""

from __future__ import annotations

import asyncio
import time

from aiolimiter import AsyncLimiter

__all__ = ["AdaptiveRate"]

MIN_RATE = 0.2
RECOVER_AFTER = 50  # successes at one rate before trying a faster one
RECOVER_FACTOR = 1.25


class AdaptiveRate:
    """Requests per second, at most `target` (None: unlimited until a 429 says otherwise).

    The bucket holds one request, so requests are evenly spaced and never burst. A 429 with
    `Retry-After` pauses every request for that long; one without halves the rate (from the rate
    achieved, when unlimited), which then climbs back by 25% per 50 successes up to the target.
    """

    def __init__(self, target: float | None) -> None:
        self.target = target if target and target > 0 else None
        self.rate: float | None = self.target
        self._limiter = self._make(self.rate)
        self._paused_until = 0.0
        self._successes = 0
        self._recent: list[float] = []

    @staticmethod
    def _make(rate: float | None) -> AsyncLimiter | None:
        return None if rate is None else AsyncLimiter(1, 1.0 / rate)

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
        """Requests per second over the last few seconds."""
        now = time.monotonic()
        window = [t for t in self._recent if now - t <= 5.0]
        return len(window) / 5.0

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` (a server's Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def slow_down(self) -> None:
        """Halve the rate after a 429 that gave no Retry-After."""
        current = self.rate if self.rate is not None else max(self.observed_rate(), 2 * MIN_RATE)
        self.rate = max(MIN_RATE, current / 2)
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
        self.rate = faster
        self._limiter = self._make(self.rate)
