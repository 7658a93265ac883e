"""`--all`'s walk over `/users` in id order, safe while the site changes under it (pure).

Offsets shift when users are deleted before the cursor (a user would be skipped) or, with an API
that does not keep its order, inserted before it (a user would come twice). So each page is read
from one user before the cursor: its first user must be the last one registered. A page that
starts later means the listing shifted left: the walk steps back a page until it overlaps again.
A page that starts earlier repeats users, who are dropped. Each case, and a changing
`meta.count`, is an anomaly to count and file; none loses a user.

The overlap costs one user per page: 1/19 users pages per user instead of a sample's 1/20.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kitsu_ingest.crawl.plan import PAGE

__all__ = ["MAX_STEPS_BACK", "PageVerdict", "UsersCursor", "read_page"]

MAX_STEPS_BACK = 50
"""Pages the walk steps back at most, in a row, looking for its last user, before giving up."""


@dataclass
class UsersCursor:
    """Where the walk stands: users before `offset` are done with, `last_id` is the last user
    registered, `count` the last `meta.count` seen. Stored with the run after each page."""

    offset: int = 0
    last_id: int = 0
    count: int | None = None
    steps_back: int = 0
    seeking: bool = False
    """Starting from a guessed offset (the users after the store's last one): until the page with
    `last_id` is found, the walk takes growing steps back, and what it meets is no anomaly."""

    @property
    def request_offset(self) -> int:
        """The next page's offset: one user before the cursor, to check the overlap."""
        return max(self.offset - 1, 0) if self.last_id else self.offset

    def to_params(self) -> dict[str, int | None]:
        return {"offset": self.offset, "last_id": self.last_id, "count": self.count, "seeking": int(self.seeking)}

    @classmethod
    def from_params(cls, params: dict[str, int | None] | None) -> UsersCursor:
        params = params or {}
        return cls(offset=int(params.get("offset") or 0), last_id=int(params.get("last_id") or 0),
                    count=params.get("count"), seeking=bool(params.get("seeking")))


@dataclass
class PageVerdict:
    """What one users page means: the new users' positions in it, the anomalies met, and whether
    the walk is over."""

    new: list[int] = field(default_factory=list)
    """Indexes, in the page's data, of users beyond the cursor (in id order)."""
    anomalies: list[tuple[str, str]] = field(default_factory=list)
    done: bool = False


def read_page(cursor: UsersCursor, page_offset: int, ids: list[int], count: int | None,
              limit: int = PAGE) -> PageVerdict:
    """Judge the page of `ids` read at `page_offset` and move `cursor` (in place) past it.

    Raises ValueError when the listing keeps shifting (more than MAX_STEPS_BACK pages in a row).
    """
    verdict = PageVerdict()
    if count is not None and cursor.count is not None and count != cursor.count:
        verdict.anomalies.append(("users-count-changed", f"meta.count went from {cursor.count} to {count} "
                                                          f"at offset {page_offset}"))
    cursor.count = count if count is not None else cursor.count
    if ids != sorted(set(ids)):
        verdict.anomalies.append(("users-unsorted", f"users page at offset {page_offset} is not in id order"))
    order = sorted(range(len(ids)), key=ids.__getitem__)
    first = ids[order[0]] if ids else None
    shifted = cursor.last_id and page_offset > 0 and (first is None or first > cursor.last_id)
    if shifted and (first is not None or (count or 0) > page_offset or cursor.seeking):
        cursor.steps_back += 1
        if cursor.steps_back > MAX_STEPS_BACK:
            raise ValueError(f"the users listing keeps shifting: user {cursor.last_id} not found again "
                             f"after {MAX_STEPS_BACK} pages back")
        if not cursor.seeking:
            verdict.anomalies.append(("users-shifted", f"users page at offset {page_offset} starts after "
                                                       f"user {cursor.last_id}: users before it were deleted"))
        back = limit * (2 ** (cursor.steps_back - 1) if cursor.seeking else 1)
        cursor.offset = max(page_offset - back + 1, 0)  # the next request is one before: `back` users back
        return verdict
    cursor.steps_back = 0
    seen = set()
    for i in order:
        if ids[i] > cursor.last_id and ids[i] not in seen:
            seen.add(ids[i])
            verdict.new.append(i)
    repeated = sum(1 for i in ids if i < cursor.last_id) if cursor.last_id else 0
    if repeated and page_offset > 0 and not cursor.seeking:
        verdict.anomalies.append(("users-repeated", f"users page at offset {page_offset} repeats {repeated} "
                                                    f"users before user {cursor.last_id}"))
    cursor.offset = page_offset + len(ids)
    if verdict.new or cursor.last_id in ids:
        cursor.seeking = False
    if verdict.new:
        cursor.last_id = ids[verdict.new[-1]]
    verdict.done = len(ids) < limit
    return verdict
