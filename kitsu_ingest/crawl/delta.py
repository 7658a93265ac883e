"""The site-wide delta: every anime library entry changed since a time, whoever owns it, paged by
time (`/library-entries?filter[since]=T&filter[kind]=anime&sort=updatedAt,id`, 500 a page).

Entries keep changing while the delta is paged, so offsets would shift under it. Each page is asked
from the last `updatedAt` seen instead (offset 0), and the entries up to the last (updatedAt, id)
key already seen are dropped. An entry that changes during the paging moves to a later time, where
the paging meets it again: nothing is skipped. Only a page whose entries all share one time (500
changes in the same millisecond) needs an offset within that time; it backs off a margin, so that
up to OFFSET_MARGIN of those entries may move meanwhile without one being skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kitsu_ingest.crawl.fetch import ANIME_FIELDS, ENTRY_FIELDS, Harvest, RecordError, keep_anime, resolve_hidden
from kitsu_ingest.crawl.mapping import MalformedRecord, entry_row, id_of
from kitsu_ingest.errors import RequestRejected, TransientError
from kitsu_ingest.kitsu.client import KitsuClient
from kitsu_ingest.kitsu.jsonapi import Document, query_of

__all__ = ["DELTA_PAGE", "OFFSET_MARGIN", "DeltaCursor", "DeltaPage", "DeltaRefused", "delta_pages", "delta_params"]

DELTA_PAGE = 500
OFFSET_MARGIN = 250


class DeltaRefused(RequestRejected):
    """The API will not serve a site-wide delta (it refused or ignored `filter[since]`)."""


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"


@dataclass
class DeltaCursor:
    """Where the paging stands: the `since` of the next request, the last (updatedAt, id) seen,
    and how many entries seen share `since` exactly. Stored with the run after each page."""

    since: datetime
    last_id: int = 0
    at_since: int = 0

    @property
    def offset(self) -> int:
        """Offset 0, unless a whole page's worth of entries share `since` (see the module doc)."""
        return max(self.at_since - OFFSET_MARGIN, 0) if self.at_since >= DELTA_PAGE else 0

    def seen(self, updated: datetime, entry_id: int) -> bool:
        return (updated, entry_id) <= (self.since, self.last_id)

    def to_params(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "last_id": self.last_id, "at_since": self.at_since}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> DeltaCursor:
        return cls(datetime.fromisoformat(params["since"]), int(params.get("last_id", 0)),
                   int(params.get("at_since", 0)))


@dataclass
class DeltaPage:
    """One page's new entries (as a Harvest with no users to mark done), their owners, anomalies,
    the cursor after it, and whether the delta is complete."""

    harvest: Harvest
    owners: dict[int, int] = field(default_factory=dict)
    """User id -> entries of theirs on this page."""
    anomalies: list[RecordError] = field(default_factory=list)
    cursor: DeltaCursor | None = None
    done: bool = False


def delta_params(cursor: DeltaCursor) -> dict[str, Any]:
    """The query of the page at `cursor`."""
    return {
        "filter[since]": _stamp(cursor.since),
        "filter[kind]": "anime",
        "sort": "updatedAt,id",
        "include": "anime,user",
        "fields[libraryEntries]": ENTRY_FIELDS,
        "fields[anime]": ANIME_FIELDS,
        "fields[users]": "name",
        "page[limit]": DELTA_PAGE,
        "page[offset]": cursor.offset,
    }


async def delta_pages(client: KitsuClient, cursor: DeltaCursor, fetched_at: datetime,
                      known_anime: set[int]) -> AsyncIterator[DeltaPage]:
    """Page the delta from `cursor` to the present. The first page raises DeltaRefused when the
    API rejects the query or ignores its `since` filter; later failures raise as usual."""
    first = True
    while True:
        params = delta_params(cursor)
        try:
            document = await client.get("/library-entries", params)
        except (RequestRejected, TransientError) as exc:
            if first and not isinstance(exc, DeltaRefused):
                raise DeltaRefused(f"the API refused the site-wide delta: {exc}") from None
            raise
        if first and not query_of(document.links.get("first") or document.url).get("filter[since]"):
            raise DeltaRefused("the API ignored filter[since] (its links do not echo it)")
        first = False
        page = read_delta_page(cursor, document, fetched_at, known_anime)
        await resolve_hidden(client, page.harvest, fetched_at)
        yield page
        if page.done:
            return
        assert page.cursor is not None
        cursor = page.cursor


def read_delta_page(cursor: DeltaCursor, document: Document, fetched_at: datetime,
                    known_anime: set[int]) -> DeltaPage:
    """Map a delta page: entries not seen yet, included anime not stored yet, anomalies; and
    the cursor after it (pure)."""
    page = DeltaPage(Harvest(user_ids=[]))
    rows: list[dict[str, Any]] = []
    for resource in document.included:
        if resource.get("type") == "anime" and id_of(resource) not in known_anime:
            keep_anime(page.harvest, resource, fetched_at)
    for resource in document.data:
        try:
            row = entry_row(resource, fetched_at)
        except MalformedRecord as exc:
            page.harvest.errors.append(RecordError("malformed-libraryEntries", str(exc), exc.payload, document.url))
            continue
        rows.append(row)
    since, last_id, at_since = cursor.since, cursor.last_id, cursor.at_since
    previous = (since, 0)  # a page starts at `since`, with what was seen there (any id) first
    for row in rows:
        updated = row["updated_at"]
        if updated is None or updated < cursor.since:
            page.anomalies.append(RecordError(
                "delta-older-than-asked", f"entry {row['id']} updated {updated} before the since asked, "
                f"{_stamp(cursor.since)}", None, document.url, row["user_id"]))
            updated = cursor.since
        key = (updated, row["id"])
        if key < previous:
            page.anomalies.append(RecordError(
                "delta-unsorted", f"entry {row['id']} comes after a later one: the page is not sorted by "
                "updatedAt", None, document.url, row["user_id"]))
        if cursor.seen(*key):
            continue
        page.harvest.entries.append(row)
        page.owners[row["user_id"]] = page.owners.get(row["user_id"], 0) + 1
        if key > (since, last_id):
            at_since = at_since + 1 if updated == since else 1
            since, last_id = key
        previous = key
    page.cursor = DeltaCursor(since, last_id, at_since)
    page.done = len(document.data) < DELTA_PAGE or not document.next
    if not page.done and page.cursor == cursor:  # a full page that moves nothing: go past it
        page.cursor = DeltaCursor(since, last_id, at_since + len(document.data))
    return page
