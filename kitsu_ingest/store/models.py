"""The SQL store's tables (SQLModel). All times are naive UTC.

Natural keys are Kitsu's own ids (users, anime, library entries, favourites), so ingesting the
same record twice updates one row rather than adding another. There are no foreign keys between
the Kitsu tables on purpose: the crawler streams rows in whatever order pages arrive, and an entry
may point at an anime that anonymous callers cannot see (NSFW); indexes serve the queries instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, Table
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Field, SQLModel

__all__ = [
    "Anime",
    "CrawlError",
    "CrawlRun",
    "CrawlUser",
    "Favorite",
    "LibraryEntry",
    "SegmentRun",
    "User",
    "UserSegment",
    "metadata",
    "table",
]

metadata = SQLModel.metadata


# A Kitsu id: BIGINT on PostgreSQL, INTEGER on SQLite (so that a primary key is the rowid).
KitsuId = BigInteger().with_variant(Integer(), "sqlite")
# Naive UTC timestamps on every backend, so rows compare equal across SQLite and PostgreSQL.
UtcTime = DateTime(timezone=False)


def _kitsu_id() -> Any:
    """A primary key column holding an id assigned by Kitsu (never autoincremented)."""
    return Field(sa_column=Column(KitsuId, primary_key=True, autoincrement=False))


def _time(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UtcTime, nullable=nullable)


class User(SQLModel, table=True):
    """A Kitsu user profile with every activity counter the API gives."""

    __tablename__ = "users"

    id: int = _kitsu_id()
    name: str | None = None
    slug: str | None = None
    location: str | None = None
    gender: str | None = None
    birthday: str | None = None
    pro_tier: str | None = None
    life_spent_on_anime: int = 0
    followers_count: int = 0
    following_count: int = 0
    comments_count: int = 0
    favorites_count: int = 0
    likes_given_count: int = 0
    likes_received_count: int = 0
    posts_count: int = 0
    ratings_count: int = 0
    reviews_count: int = 0
    media_reactions_count: int = 0
    created_at: datetime | None = _time()
    updated_at: datetime | None = _time()
    fetched_at: datetime = _time(nullable=False)


class Anime(SQLModel, table=True):
    """An anime as Kitsu describes it; `categories` is a list of category titles."""

    __tablename__ = "anime"

    id: int = _kitsu_id()
    canonical_title: str | None = None
    slug: str | None = None
    subtype: str | None = None
    status: str | None = None
    start_date: str | None = None
    episode_count: int | None = None
    average_rating: float | None = None
    user_count: int | None = None
    favorites_count: int | None = None
    popularity_rank: int | None = Field(default=None, index=True)
    rating_rank: int | None = None
    age_rating: str | None = None
    nsfw: bool = False
    categories: list[str] | None = Field(default=None, sa_column=Column(JSON))
    fetched_at: datetime = _time(nullable=False)


class LibraryEntry(SQLModel, table=True):
    """One anime in one user's library. `anime_id` is None for an NSFW entry not resolved."""

    __tablename__ = "library_entries"
    __table_args__ = (
        Index("ix_library_entries_user_id_anime_id", "user_id", "anime_id"),
        Index("ix_library_entries_anime_id", "anime_id"),
    )

    id: int = _kitsu_id()
    user_id: int = Field(sa_column=Column(KitsuId, nullable=False))
    anime_id: int | None = Field(default=None, sa_column=Column(KitsuId, nullable=True))
    status: str
    progress: int = 0
    reconsuming: bool = False
    reconsume_count: int = 0
    rating_twenty: int | None = None
    started_at: datetime | None = _time()
    finished_at: datetime | None = _time()
    progressed_at: datetime | None = _time()
    created_at: datetime | None = _time()
    updated_at: datetime | None = _time()
    fetched_at: datetime = _time(nullable=False)


class Favorite(SQLModel, table=True):
    """A user's favourite anime; `fav_rank` is Kitsu's 0-based position."""

    __tablename__ = "favorites"
    __table_args__ = (
        Index("ix_favorites_user_id_anime_id", "user_id", "anime_id"),
        Index("ix_favorites_anime_id", "anime_id"),
    )

    id: int = _kitsu_id()
    user_id: int = Field(sa_column=Column(KitsuId, nullable=False))
    anime_id: int = Field(sa_column=Column(KitsuId, nullable=False))
    fav_rank: int | None = None
    created_at: datetime | None = _time()
    updated_at: datetime | None = _time()
    fetched_at: datetime = _time(nullable=False)


class CrawlRun(SQLModel, table=True):
    """One `kitsu-ingest crawl` invocation: its parameters, state and final counters."""

    __tablename__ = "crawl_runs"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    started_at: datetime = _time(nullable=False)
    finished_at: datetime | None = _time()
    heartbeat_at: datetime | None = _time()
    status: str = Field(default="running", index=True)
    base_url: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class CrawlUser(SQLModel, table=True):
    """Per-user progress of a crawl run, so that `--resume` picks up where it stopped."""

    __tablename__ = "crawl_users"
    __table_args__ = (Index("ix_crawl_users_run_id_state", "run_id", "state"),)

    run_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(KitsuId, primary_key=True, autoincrement=False))
    state: str = "pending"
    attempts: int = 0
    entries: int | None = None
    favorites: int | None = None
    error: str | None = None
    updated_at: datetime | None = _time()


class CrawlError(SQLModel, table=True):
    """Something the crawler could not use, with the raw payload that caused it."""

    __tablename__ = "crawl_errors"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    run_id: int | None = Field(default=None, index=True)
    user_id: int | None = Field(default=None, sa_type=KitsuId)
    url: str | None = None
    kind: str
    message: str
    payload: str | None = None
    created_at: datetime = _time(nullable=False)


class SegmentRun(SQLModel, table=True):
    """One `kitsu-ingest segment-users` run: its parameters (bin rule and edges, features, k sweep)
    and its summary (tier counts, sweep table, cluster profiles)."""

    __tablename__ = "segment_runs"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    created_at: datetime = _time(nullable=False)
    bins: str
    k: int | None = None
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class UserSegment(SQLModel, table=True):
    """A user's engagement tier and behavioural cluster in one segmentation run (None: left out)."""

    __tablename__ = "user_segments"

    run_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(KitsuId, primary_key=True, autoincrement=False))
    interaction_score: float | None = None
    tier: str | None = None
    cluster: int | None = None


def table(model: type[SQLModel]) -> Table:
    """The Table behind a SQLModel table class (`Model.__table__`, typed for the type checker)."""
    mapped = sa_inspect(model).local_table
    if not isinstance(mapped, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return mapped
