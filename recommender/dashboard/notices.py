"""What a page says when something is missing, and the command that fixes it (one home for both)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CRAWL", "SEGMENT", "TRAIN", "UPGRADE", "Notice", "crawl_user", "store_problem"]

CRAWL = "kitsu-ingest crawl --sample 5000"
UPGRADE = "kitsu-ingest db upgrade"
SEGMENT = "kitsu-ingest segment-users"
TRAIN = "recommend train"
_MISSING_TABLE = ("no such table", "does not exist", "kitsu-ingest db upgrade")


@dataclass(frozen=True)
class Notice:
    """A plain sentence about what is missing or wrong, and the command that fixes it (if any)."""

    message: str
    command: str | None = None
    level: str = "warning"
    """"warning" (something is missing), "error" (something is broken) or "info"."""


def crawl_user(user_id: int | str) -> str:
    return f"kitsu-ingest crawl --users {user_id}"


def store_problem(exc: BaseException) -> Notice:
    """The notice for an error met while reading the store (missing tables: upgrade it)."""
    reason = str(getattr(exc, "orig", None) or exc).strip()
    line = reason.splitlines()[0] if reason else type(exc).__name__
    if any(marker in line for marker in _MISSING_TABLE):
        return Notice(f"The store is missing tables ({line}).", UPGRADE, "error")
    return Notice(f"The store cannot be read: {line}", None, "error")
