"""A crawl's live counters, and what they say about the time left (pure)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DEFAULT_REQUESTS_PER_USER", "CrawlProgress", "if_stored", "projected_seconds"]

DEFAULT_REQUESTS_PER_USER = 1.25
"""Requests per user of a crawl before any is measured (bench/bench_crawl.py on the emulator, whose
library lengths are fitted on real lists: 1.235 for a 5,000-user sample, 1.143 for `--all`)."""


@dataclass
class CrawlProgress:
    """Live counters, handed to the progress callback, stored with the run and returned as the summary.

    `anomalies` counts what the API answered inconsistently (each case is also filed in
    `crawl_errors`): users pages that repeat or skip users, a changing `meta.count`, delta entries
    older than asked."""

    run_id: int = 0
    phase: str = "starting"
    users_total: int = 0
    users_done: int = 0
    users_failed: int = 0
    users_missing: int = 0
    site_users: int | None = None
    entries: int = 0
    favorites: int = 0
    anime: int = 0
    nsfw_resolved: int = 0
    nsfw_unresolved: int = 0
    record_errors: int = 0
    requests: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    anomalies: dict[str, int] = field(default_factory=dict)
    delta_pages: int = 0
    delta_entries: int = 0
    delta_users: int = 0
    new_users: int = 0
    asked: int | None = None
    """Set for a sample larger than the site: the users it asked for (the site's were all crawled)."""
    projected_seconds: float | None = None
    """At the start of `--all`: the whole site's duration at the chosen rate."""
    prior_requests_per_user: float | None = None
    """Requests per user measured over the store's earlier crawls (what the projection uses)."""
    elapsed: float = 0.0
    status: str = "running"

    def note(self, anomaly: str, n: int = 1) -> None:
        """Count an inconsistency of the API."""
        self.anomalies[anomaly] = self.anomalies.get(anomaly, 0) + n

    @property
    def requests_per_user(self) -> float | None:
        return self.requests / self.users_done if self.users_done else None

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far: users still to do over users done per second."""
        total = max(self.users_total, self.site_users or 0)
        if not self.users_done or self.elapsed <= 0 or total <= self.users_done:
            return None
        return (total - self.users_done - self.users_missing) / (self.users_done / self.elapsed)

    def as_dict(self) -> dict[str, Any]:
        seconds = max(self.elapsed, 1e-9)
        return asdict(self) | {
            "requests_per_user": self.requests_per_user,
            "users_per_second": self.users_done / seconds,
            "entries_per_second": self.entries / seconds,
            "eta_seconds": self.eta_seconds,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CrawlProgress:
        """A stored summary back as progress (derived and unknown keys ignored)."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def resumed(cls, run_id: int, stored: dict[str, Any]) -> CrawlProgress:
        """The progress a resumed run starts from: what its earlier sessions counted as they went
        (the session adds to it); the users it counts from its ledger, as the run goes."""
        before = cls.from_dict(stored)
        return cls(run_id=run_id, **{name: copy.deepcopy(getattr(before, name)) for name in _SUMMED})

    def add_session(self, before: CrawlProgress, requests: int, retries: dict[str, int], elapsed: float) -> None:
        """Set the client's counts and the time: this session's, added to the earlier sessions'."""
        self.requests = before.requests + requests
        self.retries = dict(Counter(before.retries) + Counter(retries))
        self.elapsed = before.elapsed + elapsed


_SUMMED = ("entries", "favorites", "anime", "nsfw_resolved", "nsfw_unresolved", "record_errors", "anomalies",
           "delta_pages", "delta_entries", "delta_users", "new_users", "site_users", "asked")
"""What a run counts as it goes, session after session (requests, retries and time: `add_session`)."""


@contextmanager
def if_stored(progress: CrawlProgress) -> Iterator[None]:
    """Counts changed in the block stand only if it ends: when the write it counts fails, the
    progress is as it was, so that the summary stored for a resume counts nothing twice."""
    before = copy.deepcopy(vars(progress))
    try:
        yield
    except BaseException:
        vars(progress).update(before)
        raise


def projected_seconds(users: int, rate: float | None, requests_per_user: float | None) -> float | None:
    """How long `users` users take at `rate` requests per second (None when unlimited)."""
    if not rate or users <= 0:
        return None
    return users * (requests_per_user or DEFAULT_REQUESTS_PER_USER) / rate
