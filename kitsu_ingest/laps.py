"""Timing a pipeline's stages: `lap = Laps(); ...; lap("read"); ...; lap.seconds`."""

from __future__ import annotations

import time

__all__ = ["Laps"]


class Laps:
    """Seconds spent in each stage, each measured from the end of the one before."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._clock, 3)
        self._clock = now
