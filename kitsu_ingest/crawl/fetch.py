"""Fetching a batch of users' library entries and favourites, and checking what came back.

A batch asks for up to 20 users at once (`filter[userId]=a,b,...`, `include=anime,user`), so one
page of 500 entries can hold several small libraries: a batch costs ceil(sum of entries / 500)
library pages, never more than the users would cost one by one. The `user` linkage of every
entry says whose it is, and is checked against the users asked for.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Container
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kitsu_ingest.crawl.mapping import MalformedRecord, anime_row, entry_row, favorite_row, id_of
from kitsu_ingest.crawl.tasks import gather_or_cancel
from kitsu_ingest.errors import ApiError, TransientError
from kitsu_ingest.kitsu.client import KitsuClient
from kitsu_ingest.kitsu.jsonapi import query_of

__all__ = [
    "ANIME_FIELDS",
    "BatchTooLarge",
    "Failure",
    "Harvest",
    "RecordError",
    "favorite_params",
    "harvest",
    "keep_anime",
    "library_params",
    "resolve_hidden",
]

ENTRY_FIELDS = (
    "status,progress,reconsuming,reconsumeCount,ratingTwenty,"
    "startedAt,finishedAt,progressedAt,createdAt,updatedAt,anime,user"
)
ANIME_FIELDS = (
    "canonicalTitle,slug,subtype,status,startDate,episodeCount,averageRating,"
    "userCount,favoritesCount,popularityRank,ratingRank,ageRating,nsfw"
)
FAVORITE_FIELDS = "favRank,createdAt,updatedAt,item,user"
MAX_BATCH_ENTRIES = 8000
"""A batch of several users whose libraries hold more entries than this is split before it is
paged (`BatchTooLarge`): what a fetcher holds stays bounded however heavy the site's tail is."""
OWNER_FIELDS = "name"  # included owners are only there for the linkage
CONSISTENCY_ATTEMPTS = 2


@dataclass(frozen=True)
class RecordError:
    """A record or response the crawler could not use, with its raw payload."""

    kind: str
    message: str
    payload: str | None = None
    url: str | None = None
    user_id: int | None = None


class BatchTooLarge(Exception):
    """The first library page said a batch of several users holds more than `MAX_BATCH_ENTRIES`."""

    def __init__(self, entries: int) -> None:
        super().__init__(f"{entries} library entries in one batch")
        self.entries = entries


@dataclass
class Harvest:
    """What one batch of users yielded, ready to be written in one transaction."""

    user_ids: list[int]
    entries: list[dict[str, Any]] = field(default_factory=list)
    favorites: list[dict[str, Any]] = field(default_factory=list)
    anime: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)
    entries_per_user: Counter[int] = field(default_factory=Counter)
    favorites_per_user: Counter[int] = field(default_factory=Counter)
    nsfw_resolved: int = 0
    nsfw_unresolved: int = 0
    fetched_at: datetime | None = None
    """When the batch was fetched: every row it brings carries this time (see `write_harvests`)."""
    anomalies: list[RecordError] = field(default_factory=list)
    """What the API's paging did that it should not (a count too low, a links.next that loops)."""


@dataclass
class Failure:
    """A batch that could not be fetched: its users, why, and the anomalies met trying."""

    user_ids: list[int]
    error: RecordError
    anomalies: list[RecordError] = field(default_factory=list)


def library_params(user_ids: list[int], since: datetime | None = None) -> dict[str, Any]:
    """Query for the anime library entries of some users, 500 a page, anime included."""
    params: dict[str, Any] = {
        "filter[userId]": ",".join(map(str, user_ids)),
        "filter[kind]": "anime",
        "include": "anime,user",
        "fields[libraryEntries]": ENTRY_FIELDS,
        "fields[anime]": ANIME_FIELDS,
        "fields[users]": OWNER_FIELDS,
        "page[limit]": 500,
    }
    if since is not None:
        params["filter[since]"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    return params


def favorite_params(user_ids: list[int]) -> dict[str, Any]:
    """Query for the anime favourites of some users, 20 a page (the API's maximum), items included."""
    return {
        "filter[userId]": ",".join(map(str, user_ids)),
        "filter[itemType]": "Anime",
        "include": "item,user",
        "fields[favorites]": FAVORITE_FIELDS,
        "fields[anime]": ANIME_FIELDS,
        "fields[users]": OWNER_FIELDS,
        "page[limit]": 20,
    }


async def harvest(
    client: KitsuClient,
    user_ids: list[int],
    *,
    since: datetime | None = None,
    with_favorites: bool = True,
    fetched_at: datetime,
    known_anime: Container[int] = frozenset(),
    anomalies: list[RecordError] | None = None,
) -> Harvest:
    """Fetch, check and map a batch's entries and favourites. Raises ApiError if the API fails
    or keeps answering something other than what was asked, and BatchTooLarge (after one page)
    when several users hold more than `MAX_BATCH_ENTRIES` entries. Included anime whose id is in
    `known_anime` (already stored by this crawl) are not mapped again. The paging anomalies of
    the last attempt go to `anomalies` (kept when the harvest fails), which is the harvest's own."""
    anomalies = [] if anomalies is None else anomalies
    for attempt in range(CONSISTENCY_ATTEMPTS):
        anomalies.clear()
        result = Harvest(user_ids=list(user_ids), fetched_at=fetched_at, anomalies=anomalies)
        collections = [_collect(client, "/library-entries", library_params(user_ids, since), result, entry_row,
                                result.entries, result.entries_per_user, fetched_at, known_anime)]
        if with_favorites:
            collections.append(_collect(client, "/favorites", favorite_params(user_ids), result, favorite_row,
                                        result.favorites, result.favorites_per_user, fetched_at, known_anime))
        if all(await gather_or_cancel(collections)):  # one failing cancels the other
            break
        if attempt + 1 == CONSISTENCY_ATTEMPTS:
            raise TransientError(
                f"users {user_ids[0]}..{user_ids[-1]}: fewer records came back than meta.count promised",
                "inconsistent",
            )
    await resolve_hidden(client, result, fetched_at)
    return result


async def resolve_hidden(client: KitsuClient, result: Harvest, fetched_at: datetime) -> None:
    """Entries whose anime is hidden (NSFW, `data: null`) get it from their related link."""
    hidden = [row for row in result.entries if row["anime_id"] is None]
    await asyncio.gather(*(_resolve(client, result, row, fetched_at) for row in hidden))


def keep_anime(result: Harvest, resource: dict[str, Any], fetched_at: datetime) -> int | None:
    """Map an included anime into `result` and return its id (None, and an error filed, if it cannot)."""
    try:
        row = anime_row(resource, fetched_at)
    except MalformedRecord as exc:
        result.errors.append(RecordError("malformed-anime", str(exc), exc.payload))
        return None
    result.anime[row["id"]] = row
    return int(row["id"])


def _map(
    result: Harvest,
    resource: dict[str, Any],
    mapper: Any,
    fetched_at: datetime,
    rows: list[dict[str, Any]],
    per_user: Counter[int],
) -> None:
    try:
        row = mapper(resource, fetched_at)
    except MalformedRecord as exc:
        result.errors.append(RecordError(f"malformed-{resource.get('type')}", str(exc), exc.payload))
        return
    if row is None:
        return
    if row["user_id"] not in result.user_ids:
        raise TransientError(
            f"{resource.get('type')} {row['id']} belongs to user {row['user_id']}, "
            f"who was not asked for", "inconsistent"
        )
    rows.append(row)
    per_user[row["user_id"]] += 1


async def _resolve(client: KitsuClient, result: Harvest, row: dict[str, Any], fetched_at: datetime) -> None:
    """An entry whose anime is hidden (NSFW, `data: null`): ask its related link."""
    url = f"/library-entries/{row['id']}/anime"
    try:
        document = await client.get(url, {"fields[anime]": ANIME_FIELDS})
    except ApiError as exc:
        result.nsfw_unresolved += 1
        result.errors.append(RecordError("nsfw-unresolved", str(exc), None, url, row["user_id"]))
        return
    anime_id = keep_anime(result, document.data[0], fetched_at) if document.data else None
    if anime_id is None:
        result.nsfw_unresolved += 1
        result.errors.append(RecordError("nsfw-unresolved", "no anime behind the link", None, url, row["user_id"]))
        return
    row["anime_id"] = anime_id
    result.nsfw_resolved += 1


async def _collect(
    client: KitsuClient,
    path: str,
    params: dict[str, Any],
    result: Harvest,
    mapper: Any,
    rows: list[dict[str, Any]],
    per_user: Counter[int],
    fetched_at: datetime,
    known_anime: Container[int],
) -> bool:
    """Map every page of a collection as it arrives (raw pages are not kept), checking that the
    filter came back; True when at least as many distinct records came as `meta.count` promised
    (more is an anomaly: pages are followed while `links.next` names one, never cut at the count)."""
    seen: set[str] = set()
    count: int | None = None
    users = f"users {result.user_ids[0]}..{result.user_ids[-1]}"

    def anomaly(kind: str, message: str, url: str) -> None:
        result.anomalies.append(RecordError(kind, f"{users}, {path}: {message}", None, url))

    async with aclosing(client.pages(path, params, on_anomaly=anomaly)) as pages:  # closed if we stop
        async for document in pages:
            if count is None:
                count = document.count
                _check_filter(document.links.get("first") or document.url, set(result.user_ids))
                if mapper is entry_row and len(result.user_ids) > 1 and (count or 0) > MAX_BATCH_ENTRIES:
                    raise BatchTooLarge(count or 0)
            for resource in document.included:
                if resource["type"] != "anime":
                    continue
                anime_id = id_of(resource)
                if anime_id is None or (anime_id not in known_anime and anime_id not in result.anime):
                    keep_anime(result, resource, fetched_at)  # files an anime it cannot map
            for resource in document.data:
                if resource["id"] not in seen:
                    seen.add(resource["id"])
                    _map(result, resource, mapper, fetched_at, rows, per_user)
    if count is not None and len(seen) > count:
        anomaly("count-too-low", f"{len(seen)} records came, meta.count said {count}", path)
    return count is not None and len(seen) >= count


def _check_filter(url: str, asked: set[int]) -> None:
    """The server echoes the filters it applied in its links: a dropped filter is a lie."""
    echoed = query_of(url).get("filter[userId]")
    got = {int(v) for part in echoed or [] for v in part.split(",") if v.strip().isdigit()}
    if got != asked:
        raise TransientError(
            f"the API ignored filter[userId] (asked {len(asked)} users, it applied {sorted(got)[:5]})",
            "inconsistent",
        )
