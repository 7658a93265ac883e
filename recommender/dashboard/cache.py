"""A value that is slow to compute, kept and refreshed in the background once it is older than its
age limit (stale while it is being recomputed), so that no page waits for it (the very first waits
a moment, then says it is being counted).

The store's counts are such a value: `store_stats` groups every library entry by status, 0.7 s on
the quickstart's store of a million entries, more than twice a page's whole budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Refreshed", "Snapshot"]

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot(Generic[T]):
    value: T | None
    error: BaseException | None
    taken_at: float
    """time.time() when it was computed."""

    @property
    def age(self) -> float:
        return max(0.0, time.time() - self.taken_at)


class Refreshed(Generic[T]):
    """`compute()`'s last result (or error), recomputed in a thread when older than `max_age` s."""

    def __init__(self, compute: Callable[[], T], max_age: float) -> None:
        self._compute = compute
        self.max_age = max_age
        self._snapshot: Snapshot[T] | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._running = False

    def get(self, wait: float) -> Snapshot[T] | None:
        """The latest snapshot (a stale one starts a refresh); before the first, wait for it at
        most `wait` seconds, then None."""
        snapshot = self._snapshot
        if snapshot is None:
            self.refresh(wait)
            snapshot = self._snapshot
        elif snapshot.age > self.max_age or snapshot.error is not None:
            self.refresh(0)
        return snapshot

    def refresh(self, wait: float = 0) -> None:
        """Recompute in a thread (unless one already is), and wait for it at most `wait` seconds."""
        with self._lock:
            if not self._running:
                self._running = True
                self._done.clear()
                threading.Thread(target=self._run, daemon=True, name="dashboard-refresh").start()
        if wait > 0:
            self._done.wait(wait)

    def _run(self) -> None:
        try:
            self._snapshot = Snapshot(self._compute(), None, time.time())
        except Exception as exc:  # kept and shown by the page: a database error, say
            self._snapshot = Snapshot(None, exc, time.time())
        finally:
            with self._lock:
                self._running = False
                self._done.set()
