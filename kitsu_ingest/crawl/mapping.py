"""JSON:API resources -> store rows. Pure functions; a record that cannot be mapped raises
MalformedRecord carrying its raw JSON, so the crawler can file it and go on. A row that comes out
fits its columns: ids 1..MAX_ID, other numbers in INTEGER range, text as text, times as naive UTC."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import orjson

from kitsu_ingest.domain import LIBRARY_STATUSES, MAX_ID
from kitsu_ingest.kitsu.jsonapi import MISSING, linkage

__all__ = [
    "ENTRY_STATUSES",
    "MalformedRecord",
    "anime_row",
    "entry_row",
    "favorite_row",
    "id_of",
    "owner",
    "parse_time",
    "user_row",
]

ENTRY_STATUSES = frozenset(LIBRARY_STATUSES)
Resource = dict[str, Any]
_P = ParamSpec("_P")
_R = TypeVar("_R")
_INT_MAX = 2**31 - 1  # counters, progress, ranks: INTEGER columns (4 bytes on PostgreSQL)
_UNUSABLE = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError)


class MalformedRecord(ValueError):
    """A resource that does not have the shape Kitsu documents."""

    def __init__(self, message: str, resource: Any) -> None:
        super().__init__(message)
        try:
            self.payload = orjson.dumps(resource, default=str).decode()
        except TypeError:  # what orjson cannot write (an integer beyond 64 bits, a key that is no string)
            self.payload = repr(resource)


def _mapper(kind: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """A mapping function whose every failure on an unusable resource is a MalformedRecord."""

    def wrap(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def mapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return function(*args, **kwargs)
            except _UNUSABLE as exc:
                raise MalformedRecord(f"{kind}: {exc}", args[0] if args else kwargs.get("resource")) from None

        return mapped

    return wrap


def parse_time(value: Any) -> datetime | None:
    """Kitsu's ISO 8601 times ('2020-04-03T01:38:56.763Z') as naive UTC; None stays None.
    Raises ValueError (or OverflowError, for a time beyond year 1..9999 in UTC) otherwise."""
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
    number = int(float(value)) if isinstance(value, str) else int(value)
    if not -_INT_MAX <= number <= _INT_MAX:
        raise ValueError(f"number out of range: {value!r}")
    return number


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"not text: {value!r}")
    return value


def _id(value: Any) -> int:
    """A Kitsu id (a string of digits, or a number), 1..MAX_ID."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"not an id: {value!r}")
    ident = int(value)
    if not 1 <= ident <= MAX_ID:
        raise ValueError(f"id out of range: {value!r}")
    return ident


def id_of(resource: Resource) -> int | None:
    """A resource's id as a Kitsu id; None when it is not one (mapping the resource says why)."""
    try:
        return _id(resource.get("id"))
    except (TypeError, ValueError):
        return None


def _attributes(resource: Resource) -> dict[str, Any]:
    attributes = resource.get("attributes")
    if not isinstance(attributes, dict):
        raise ValueError("no attributes")
    return attributes


@_mapper("user")
def user_row(resource: Resource, fetched_at: datetime) -> dict[str, Any]:
    """A `users` resource -> a users row with every profile counter."""
    a = _attributes(resource)
    return {
        "id": _id(resource["id"]),
        "name": _text(a.get("name")),
        "slug": _text(a.get("slug")),
        "location": _text(a.get("location")),
        "gender": _text(a.get("gender")),
        "birthday": _text(a.get("birthday")),
        "pro_tier": _text(a.get("proTier")),
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


@_mapper("anime")
def anime_row(resource: Resource, fetched_at: datetime) -> dict[str, Any]:
    """An `anime` resource (sparse fields allowed) -> an anime row; categories are not set here."""
    a = _attributes(resource)
    return {
        "id": _id(resource["id"]),
        "canonical_title": _text(a.get("canonicalTitle")),
        "slug": _text(a.get("slug")),
        "subtype": _text(a.get("subtype")),
        "status": _text(a.get("status")),
        "start_date": _text(a.get("startDate")),
        "episode_count": _int(a.get("episodeCount"), None),
        "average_rating": _float(a.get("averageRating")),
        "user_count": _int(a.get("userCount"), None),
        "favorites_count": _int(a.get("favoritesCount"), None),
        "popularity_rank": _int(a.get("popularityRank"), None),
        "rating_rank": _int(a.get("ratingRank"), None),
        "age_rating": _text(a.get("ageRating")),
        "nsfw": bool(a.get("nsfw", False)),
        "fetched_at": fetched_at,
    }


def owner(resource: Resource) -> int | None:
    """The user a library entry or favourite belongs to, from its `user` linkage (None if absent).
    Raises ValueError for a linkage that is not one user's."""
    linked = linkage(resource, "user")
    if linked is MISSING or linked is None:
        return None
    kind, ident = linked
    return _id(ident) if kind == "users" else None


@_mapper("library entry")
def entry_row(resource: Resource, fetched_at: datetime) -> dict[str, Any]:
    """A `libraryEntries` resource (with user and anime linkage) -> a library_entries row.

    `anime_id` is None when the anime linkage is `null` (an NSFW anime hidden from anonymous
    callers); the crawler resolves those through the related link.
    """
    a = _attributes(resource)
    status = a.get("status")
    if not isinstance(status, str) or status not in ENTRY_STATUSES:
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
        "id": _id(resource["id"]),
        "user_id": user_id,
        "anime_id": None if anime is None else _id(anime[1]),
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


@_mapper("favourite")
def favorite_row(resource: Resource, fetched_at: datetime) -> dict[str, Any] | None:
    """A `favorites` resource -> a favorites row; None when its item is not an anime."""
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
        "id": _id(resource["id"]),
        "user_id": user_id,
        "anime_id": _id(ident),
        "fav_rank": _int(a.get("favRank"), None),
        "created_at": parse_time(a.get("createdAt")),
        "updated_at": parse_time(a.get("updatedAt")),
        "fetched_at": fetched_at,
    }
