"""A crawl's live counters, and what they say about the time left (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DEFAULT_REQUESTS_PER_USER", "CrawlProgress", "projected_seconds"]

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


def projected_seconds(users: int, rate: float | None, requests_per_user: float | None) -> float | None:
    """How long `users` users take at `rate` requests per second (None when unlimited)."""
    if not rate or users <= 0:
        return None
    return users * (requests_per_user or DEFAULT_REQUESTS_PER_USER) / rate
