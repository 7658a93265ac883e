"""A polite request rate: a leaky bucket that halves under a server's rate limit and recovers gradually."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from aiolimiter import AsyncLimiter

__all__ = ["AdaptiveRate"]

MIN_RATE = 0.2
SLOW_FACTOR = 0.5  # under 429s without Retry-After
SLOW_COOLDOWN = 0.5  # seconds for a new rate to settle (the server's bucket to refill) before it is judged
SLOW_AFTER = 6  # 429s among the last WINDOW answers at a settled rate that say it is too fast
WINDOW = 40
RECOVER_AFTER = 20  # successes at one rate before trying a faster one
RECOVER_FACTOR = 1.1
UNLIMITED = 1000.0  # an unlimited client that recovered this far is unlimited again
BURST = 3  # requests the bucket holds: enough to catch up after the event loop was busy


class AdaptiveRate:
    """Requests per second, at most `target` (None: unlimited until 429s say otherwise).

    The bucket holds at most three requests, so requests are evenly spaced, and a turn missed
    while the event loop was busy is caught up with a burst of at most three (one, while slowed
    down: a server's bucket emptied by the rate of before is not met with a burst). A 429 with
    `Retry-After` pauses every request for that long. Without it, the rate is halved (from the
    rate achieved, when unlimited) once SLOW_AFTER of the last WINDOW answers are 429s: a server's
    limit gives runs of them, while a stray 429 must not drag the rate down. Only answers to
    requests sent once a new rate has settled (SLOW_COOLDOWN after it was set) judge it: those
    sent before speak of a faster rate. The rate climbs back by 10% per 20 successes up to the
    target; a turn given under a rate that changed meanwhile is waited for again under the new one.
    """

    def __init__(self, target: float | None) -> None:
        self.target = target if target and target > 0 else None
        self.rate: float | None = self.target
        self._limiter = self._make(self.rate, BURST)
        self._paused_until = 0.0
        self._successes = 0
        self._slowed_at = -SLOW_COOLDOWN
        self._answers: deque[bool] = deque(maxlen=WINDOW)  # at the settled rate; True for a 429
        self._recent: list[float] = []

    @staticmethod
    def _make(rate: float | None, burst: int = 1) -> AsyncLimiter | None:
        if rate is None:
            return None
        burst = max(1, min(burst, int(rate)))
        return AsyncLimiter(burst, burst / rate)

    async def acquire(self) -> float:
        """Wait for the next request's turn; returns when it came (`time.monotonic()`)."""
        while True:
            while (delay := self._paused_until - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            limiter = self._limiter
            if limiter is not None:
                await limiter.acquire()
            if limiter is self._limiter and self._paused_until <= time.monotonic():
                break
        now = time.monotonic()
        self._recent.append(now)
        if len(self._recent) > 256:
            del self._recent[:128]
        return now

    def observed_rate(self) -> float:
        """Requests per second over the last 50 requests (0 before there are two)."""
        window = self._recent[-50:]
        span = window[-1] - window[0] if len(window) > 1 else 0.0
        return (len(window) - 1) / span if span > 0 else 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` (a server's Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def slow_down(self, sent_at: float) -> float | None:
        """Count a 429 without Retry-After to a request sent at `sent_at` (what `acquire` returned),
        slowing down if it shows the rate too fast, and say how long that request should wait
        before it is tried again without that 429 counting against its attempts: until a new rate
        has settled, else 0 (its next turn). None once the rate is as slow as it goes: then the
        429 is the server's answer, not the rate's, and costs an attempt."""
        now = time.monotonic()
        settled = self._slowed_at + SLOW_COOLDOWN
        if sent_at < settled:
            return max(0.0, settled - now)
        if self.rate is not None and self.rate <= MIN_RATE:
            return None
        self._answers.append(True)
        if sum(self._answers) < SLOW_AFTER:
            return 0.0
        self._slowed_at = now
        self._answers.clear()
        current = self.rate if self.rate is not None else min(max(self.observed_rate(), 2 * MIN_RATE), UNLIMITED)
        self.rate = max(MIN_RATE, current * SLOW_FACTOR)
        self._limiter = self._make(self.rate)
        self._successes = 0
        return SLOW_COOLDOWN

    def succeeded(self, sent_at: float) -> None:
        """Count a success to a request sent at `sent_at`; after enough of them, speed up towards
        the target."""
        if sent_at >= self._slowed_at + SLOW_COOLDOWN:
            self._answers.append(False)
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
        self._limiter = self._make(self.rate, BURST if self.rate == self.target else 1)
