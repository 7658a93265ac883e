"""Facts about Kitsu's data that several modules share: library statuses and their default strengths,
and the range of an id.

The emulator keeps its own list of statuses on purpose: it stands in for Kitsu, not for our code.
"""

from __future__ import annotations

__all__ = ["DEFAULT_FAVORITE_WEIGHT", "DEFAULT_STATUS_WEIGHTS", "LIBRARY_STATUSES", "MAX_ID"]

MAX_ID = 2**63 - 1
"""The largest Kitsu id the store can hold (a signed 64-bit integer: BIGINT, SQLite's INTEGER);
ids are positive, so a valid id is 1..MAX_ID."""

LIBRARY_STATUSES = ("current", "planned", "completed", "on_hold", "dropped")
"""A library entry's statuses, in Kitsu's order, spelled as the store keeps them."""

DEFAULT_STATUS_WEIGHTS: dict[str, float] = {
    "completed": 6.0,
    "current": 4.0,
    "planned": 3.0,
    "on_hold": 2.0,
    "dropped": 1.0,
}
"""Event strength of a library entry by its status (the original notebook's defaults)."""

DEFAULT_FAVORITE_WEIGHT = 5.0
"""Event strength of an anime favourite (the original notebook's default)."""
