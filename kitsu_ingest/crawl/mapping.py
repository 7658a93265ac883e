"""JSON:API resources -> store rows. Pure functions; a record that cannot be mapped raises
MalformedRecord carrying its raw JSON, so the crawler can file it and go on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from kitsu_ingest.domain import LIBRARY_STATUSES
from kitsu_ingest.kitsu.jsonapi import MISSING, linkage

__all__ = [
    "ENTRY_STATUSES",
    "MalformedRecord",
    "anime_row",
    "entry_row",
    "favorite_row",
    "owner",
    "parse_time",
    "user_row",
]

ENTRY_STATUSES = frozenset(LIBRARY_STATUSES)
Resource = dict[str, Any]


class MalformedRecord(ValueError):
    """A resource that does not have the shape Kitsu documents."""

    def __init__(self, message: str, resource: Any) -> None:
        super().__init__(message)
        self.payload = orjson.dumps(resource, default=str).decode()


def parse_time(value: Any) -> datetime | None:
    """Kitsu's ISO 8601 times ('2020-04-03T01:38:56.763Z') as naive UTC; None stays None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    if value.endswith("Z"):  # Kitsu's own form: already UTC
        return datetime.fromisoformat(value[:-1])
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _int(value: Any, default: int | None = 0) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a number: {value!r}")
    return int(float(value)) if isinstance(value, str) else int(value)


def _float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _id(resource: Resource) -> int:
    return int(resource["id"])


def _attributes(resource: Resource) -> dict[str, Any]:
    attributes = resource.get("attributes")
    if not isinstance(attributes, dict):
        raise ValueError("no attributes")
    return attributes


def user_row(resource: Resource, fetched_at: datetime) -> dict[str, Any]:
    """A `users` resource -> a users row with every profile counter."""
    try:
        a = _attributes(resource)
        return {
            "id": _id(resource),
            "name": a.get("name"),
            "slug": a.get("slug"),
            "location": a.get("location"),
            "gender": a.get("gender"),
            "birthday": a.get("birthday"),
            "pro_tier": a.get("proTier"),
            "life_spent_on_anime": _int(a.get("lifeSpentOnAnime")),
            "followers_count": _int(a.get("followersCount")),
            "following_count": _int(a.get("followingCount")),
            "comments_count": _int(a.get("commentsCount")),
            "favorites_count": _int(a.get("favoritesCount")),
            "likes_given_count": _int(a.get("likesGivenCount")),
            "likes_received_count": _int(a.get("likesReceivedCount")),
            "posts_count": _int(a.get("postsCount")),
            "ratings_count": _int(a.get("ratingsCount")),
            "reviews_count": _int(a.get("reviewsCount")),
            "media_reactions_count": _int(a.get("mediaReactionsCount")),
            "created_at": parse_time(a.get("createdAt")),
            "updated_at": parse_time(a.get("updatedAt")),
            "fetched_at": fetched_at,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"user: {exc}", resource) from None


def anime_row(resource: Resource, fetched_at: datetime) -> dict[str, Any]:
    """An `anime` resource (sparse fields allowed) -> an anime row; categories are not set here."""
    try:
        a = _attributes(resource)
        return {
            "id": _id(resource),
            "canonical_title": a.get("canonicalTitle"),
            "slug": a.get("slug"),
            "subtype": a.get("subtype"),
            "status": a.get("status"),
            "start_date": a.get("startDate"),
            "episode_count": _int(a.get("episodeCount"), None),
            "average_rating": _float(a.get("averageRating")),
            "user_count": _int(a.get("userCount"), None),
            "favorites_count": _int(a.get("favoritesCount"), None),
            "popularity_rank": _int(a.get("popularityRank"), None),
            "rating_rank": _int(a.get("ratingRank"), None),
            "age_rating": a.get("ageRating"),
            "nsfw": bool(a.get("nsfw", False)),
            "fetched_at": fetched_at,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"anime: {exc}", resource) from None


def owner(resource: Resource) -> int | None:
    """The user a library entry or favourite belongs to, from its `user` linkage (None if absent)."""
    linked = linkage(resource, "user")
    if linked is MISSING or linked is None:
        return None
    kind, ident = linked
    return int(ident) if kind == "users" else None


def entry_row(resource: Resource, fetched_at: datetime) -> dict[str, Any]:
    """A `libraryEntries` resource (with user and anime linkage) -> a library_entries row.

    `anime_id` is None when the anime linkage is `null` (an NSFW anime hidden from anonymous
    callers); the crawler resolves those through the related link.
    """
    try:
        a = _attributes(resource)
        status = a.get("status")
        if status not in ENTRY_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        user_id = owner(resource)
        if user_id is None:
            raise ValueError("no user linkage")
        anime = linkage(resource, "anime")
        if anime is MISSING:
            raise ValueError("no anime linkage")
        rating = _int(a.get("ratingTwenty"), None)
        if rating is not None and not 2 <= rating <= 20:
            raise ValueError(f"ratingTwenty {rating} outside 2..20")
        return {
            "id": _id(resource),
            "user_id": user_id,
            "anime_id": None if anime is None else int(anime[1]),
            "status": status,
            "progress": _int(a.get("progress")),
            "reconsuming": bool(a.get("reconsuming") or False),
            "reconsume_count": _int(a.get("reconsumeCount")),
            "rating_twenty": rating,
            "started_at": parse_time(a.get("startedAt")),
            "finished_at": parse_time(a.get("finishedAt")),
            "progressed_at": parse_time(a.get("progressedAt")),
            "created_at": parse_time(a.get("createdAt")),
            "updated_at": parse_time(a.get("updatedAt")),
            "fetched_at": fetched_at,
        }
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise MalformedRecord(f"library entry: {exc}", resource) from None


def favorite_row(resource: Resource, fetched_at: datetime) -> dict[str, Any] | None:
    """A `favorites` resource -> a favorites row; None when its item is not an anime."""
    try:
        a = _attributes(resource)
        user_id = owner(resource)
        if user_id is None:
            raise ValueError("no user linkage")
        item = linkage(resource, "item")
        if item is MISSING or item is None:
            raise ValueError("no item linkage")
        kind, ident = item
        if kind != "anime":
            return None
        return {
            "id": _id(resource),
            "user_id": user_id,
            "anime_id": int(ident),
            "fav_rank": _int(a.get("favRank"), None),
            "created_at": parse_time(a.get("createdAt")),
            "updated_at": parse_time(a.get("updatedAt")),
            "fetched_at": fetched_at,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"favourite: {exc}", resource) from None
