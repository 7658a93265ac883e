"""What to crawl (a plan, stored with its run so that `--resume` finishes the same crawl)."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from kitsu_ingest.domain import MAX_ID
from kitsu_ingest.errors import ConfigError

__all__ = ["PAGE", "CrawlPlan", "sample_offsets"]

PAGE = 20
"""Users per /users page, the API's maximum."""


@dataclass(frozen=True)
class CrawlPlan:
    """What to crawl: every user of the site in id order (`everyone`), a random sample of `sample`
    users (seeded), or the given `users`; with `since`, only entries updated since then (for
    `everyone`, one site-wide delta; otherwise each user's refresh)."""

    sample: int | None = None
    seed: int = 0
    users: tuple[int, ...] | None = None
    since: datetime | None = None
    batch_users: int = 20
    everyone: bool = False

    def __post_init__(self) -> None:
        if self.sample is not None and self.sample < 1:
            raise ConfigError(f"--sample must be a positive number of users, not {self.sample}")
        if not 1 <= self.batch_users <= 50:
            raise ConfigError("--batch-users must be between 1 and 50")
        if self.everyone and (self.sample is not None or self.users is not None):
            raise ConfigError("--all crawls every user: it takes no --sample or --users")
        wrong = next((u for u in self.users or () if not (isinstance(u, int) and 1 <= u <= MAX_ID)), None)
        if wrong is not None:
            raise ConfigError(f"user id {wrong} is not a Kitsu id (ids are whole numbers from 1 to {MAX_ID})")

    @property
    def delta(self) -> bool:
        """A site-wide delta: every entry changed since `since`, whoever owns it."""
        return self.everyone and self.since is not None

    def to_params(self) -> dict[str, Any]:
        params = asdict(self)
        params["users"] = list(self.users) if self.users is not None else None
        params["since"] = self.since.isoformat() if self.since else None
        return params

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> CrawlPlan:
        users = params.get("users")
        since = params.get("since")
        return cls(
            sample=params.get("sample"),
            seed=params.get("seed", 0),
            users=tuple(users) if users is not None else None,
            since=datetime.fromisoformat(since) if since else None,
            batch_users=params.get("batch_users", 20),
            everyone=bool(params.get("everyone", False)),
        )


def sample_offsets(total: int, sample: int, seed: int) -> list[int]:
    """Offsets of the random /users pages a sample reads, in the order drawn (seeded)."""
    pages = math.ceil(total / PAGE)
    wanted = min(pages, math.ceil(sample / PAGE))
    return [page * PAGE for page in random.Random(seed).sample(range(pages), wanted)]
