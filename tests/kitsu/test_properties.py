"""Property-based tests of what meets the API's answers: JSON:API documents, page links, and the
mapping of resources to rows. Whatever comes back, the only errors are the documented ones
(TransientError for a document, MalformedRecord for a record), and every row fits its columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, String
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from kitsu_ingest.crawl.mapping import MalformedRecord, anime_row, entry_row, favorite_row, user_row
from kitsu_ingest.domain import LIBRARY_STATUSES, MAX_ID
from kitsu_ingest.errors import TransientError
from kitsu_ingest.kitsu import Document, linkage, parse_document, query_of
from kitsu_ingest.kitsu.client import MAX_PAGES, following_pages
from kitsu_ingest.store.models import Anime, Favorite, LibraryEntry, User, table

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2024, 1, 1)

# What orjson can hand us: numbers within 64 bits (larger ones come back as floats), finite floats.
SCALARS = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)

# Values Kitsu could plausibly send, mixed with anything at all.
ID_TEXT = st.integers(-5, 2**64).map(str) | st.text("0123456789 -+_.e", max_size=22)
TIME = (st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
        .map(lambda t: t.isoformat(timespec="milliseconds") + "Z")
        | st.builds(lambda t, h: t.replace(tzinfo=UTC).astimezone(UTC).isoformat().replace("+00:00", f"{h:+03d}:00"),
                    st.datetimes(), st.integers(-23, 23)))
NUMBER = st.integers(-(2**40), 2**40) | st.integers(0, 10**6).map(str) | st.floats(allow_nan=False)
PLAUSIBLE = JSON | ID_TEXT | TIME | NUMBER | st.sampled_from([*LIBRARY_STATUSES, "watching"])
ATTRIBUTES = [
    "name", "slug", "location", "gender", "birthday", "proTier", "lifeSpentOnAnime", "followersCount",
    "ratingsCount", "favoritesCount", "createdAt", "updatedAt", "canonicalTitle", "subtype", "status",
    "startDate", "episodeCount", "averageRating", "userCount", "popularityRank", "ageRating", "nsfw",
    "progress", "reconsuming", "reconsumeCount", "ratingTwenty", "startedAt", "finishedAt", "progressedAt",
    "favRank",
]


def identifier(kinds: list[str]) -> st.SearchStrategy[Any]:
    return st.none() | JSON | st.fixed_dictionaries({"type": st.sampled_from(kinds) | JSON, "id": ID_TEXT | JSON})


RELATIONSHIPS = st.fixed_dictionaries({}, optional={
    "user": st.fixed_dictionaries({}, optional={"data": identifier(["users"])}) | JSON,
    "anime": st.fixed_dictionaries({}, optional={"data": identifier(["anime"])}) | JSON,
    "item": st.fixed_dictionaries({}, optional={"data": identifier(["anime", "manga"])}) | JSON,
})
RESOURCE = st.fixed_dictionaries(
    {"id": ID_TEXT | JSON, "type": st.text(max_size=8)},
    optional={"attributes": st.fixed_dictionaries({}, optional=dict.fromkeys(ATTRIBUTES, PLAUSIBLE)) | JSON,
              "relationships": RELATIONSHIPS | JSON},
)
MAPPERS = [(user_row, User), (anime_row, Anime), (entry_row, LibraryEntry), (favorite_row, Favorite)]


def assert_fits(model: type[SQLModel], row: dict[str, Any]) -> None:
    """Every value of `row` is one its column can store, on SQLite and on PostgreSQL."""
    columns = table(model).c
    for name, value in row.items():
        column = columns[name]
        if value is None:
            assert column.nullable, name
        elif isinstance(column.type, Boolean):
            assert type(value) is bool, name
        elif isinstance(column.type, BigInteger):
            assert type(value) is int and 1 <= value <= MAX_ID, name
        elif isinstance(column.type, Integer):
            assert type(value) is int and -(2**31) < value < 2**31, name
        elif isinstance(column.type, Float):
            assert type(value) is float and value == value and abs(value) != float("inf"), name
        elif isinstance(column.type, String | AutoString):
            assert type(value) is str, name
        elif isinstance(column.type, DateTime):
            assert type(value) is datetime and value.tzinfo is None, name
        else:  # pragma: no cover - a column type the mappers do not fill
            raise AssertionError(f"{name}: {column.type!r}")


@FAST
@given(resource=RESOURCE | JSON)
@pytest.mark.parametrize(("mapper", "model"), MAPPERS)
def test_any_resource_maps_to_a_row_that_fits_or_is_malformed(mapper: Any, model: type[SQLModel],
                                                              resource: Any) -> None:
    try:
        row = mapper(resource, NOW)
    except MalformedRecord as exc:
        assert isinstance(exc.payload, str)
        return
    if row is not None:
        assert_fits(model, row)


def _users(ident: int) -> dict[str, Any]:
    return {"data": {"type": "users", "id": str(ident)}}


KITSU_ID = st.integers(1, MAX_ID)
COUNT = st.integers(0, 2**31 - 1)
OPTIONAL_TIME = st.none() | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1))


@FAST
@given(ident=KITSU_ID, owner=KITSU_ID, anime=st.none() | KITSU_ID, status=st.sampled_from(LIBRARY_STATUSES),
       progress=COUNT, rating=st.none() | st.integers(2, 20), updated=OPTIONAL_TIME)
def test_a_well_formed_entry_maps_to_its_values(ident: int, owner: int, anime: int | None, status: str,
                                                progress: int, rating: int | None,
                                                updated: datetime | None) -> None:
    resource = {
        "id": str(ident), "type": "libraryEntries",
        "attributes": {"status": status, "progress": progress, "ratingTwenty": rating, "reconsuming": False,
                       "updatedAt": None if updated is None else updated.isoformat(timespec="milliseconds") + "Z"},
        "relationships": {"user": _users(owner),
                          "anime": {"data": None if anime is None else {"type": "anime", "id": str(anime)}}},
    }
    row = entry_row(resource, NOW)
    assert_fits(LibraryEntry, row)
    assert (row["id"], row["user_id"], row["anime_id"], row["status"], row["progress"], row["rating_twenty"]) == (
        ident, owner, anime, status, progress, rating)
    assert row["updated_at"] == (None if updated is None else updated.replace(microsecond=updated.microsecond
                                                                               // 1000 * 1000))


@FAST
@given(ident=KITSU_ID, counters=st.lists(COUNT, min_size=3, max_size=3), name=st.none() | st.text(),
       rating=st.none() | st.floats(0, 100).map(lambda r: f"{r:.2f}"), nsfw=st.booleans())
def test_well_formed_users_and_anime_map_to_their_values(ident: int, counters: list[int], name: str | None,
                                                         rating: str | None, nsfw: bool) -> None:
    life, ratings, favourites = counters
    user = user_row({"id": str(ident), "type": "users", "attributes": {
        "name": name, "lifeSpentOnAnime": life, "ratingsCount": ratings, "favoritesCount": favourites}}, NOW)
    assert_fits(User, user)
    assert (user["id"], user["name"], user["life_spent_on_anime"], user["ratings_count"],
            user["favorites_count"], user["followers_count"]) == (ident, name, life, ratings, favourites, 0)
    anime = anime_row({"id": str(ident), "type": "anime", "attributes": {
        "canonicalTitle": name, "averageRating": rating, "episodeCount": life, "nsfw": nsfw}}, NOW)
    assert_fits(Anime, anime)
    assert (anime["id"], anime["canonical_title"], anime["episode_count"], anime["nsfw"]) == (ident, name, life, nsfw)
    assert anime["average_rating"] == (None if rating is None else float(rating))


@FAST
@given(ident=KITSU_ID, owner=KITSU_ID, item=KITSU_ID, kind=st.sampled_from(["anime", "manga", "characters"]),
       rank=st.none() | COUNT)
def test_a_well_formed_favourite_maps_to_its_values(ident: int, owner: int, item: int, kind: str,
                                                    rank: int | None) -> None:
    row = favorite_row({"id": str(ident), "type": "favorites", "attributes": {"favRank": rank},
                        "relationships": {"user": _users(owner), "item": {"data": {"type": kind, "id": str(item)}}}},
                       NOW)
    if kind != "anime":
        assert row is None
        return
    assert row is not None
    assert_fits(Favorite, row)
    assert (row["id"], row["user_id"], row["anime_id"], row["fav_rank"]) == (ident, owner, item, rank)


DOCUMENT = st.fixed_dictionaries({}, optional={
    "data": st.none() | RESOURCE | st.lists(RESOURCE, max_size=3) | JSON,
    "included": st.lists(RESOURCE | JSON, max_size=3) | JSON,
    "links": st.dictionaries(st.sampled_from(["first", "next", "last"]), st.text(max_size=60) | JSON, max_size=3)
    | JSON,
    "meta": st.fixed_dictionaries({}, optional={"count": st.integers(-5, 10**9) | JSON}) | JSON,
})


def _check(document: Document) -> None:
    assert isinstance(document.data, list) and isinstance(document.included, list)
    for resource in (*document.data, *document.included):
        assert isinstance(resource, dict) and isinstance(resource["type"], str)
        assert isinstance(resource["id"], str | int)
        hash(resource["id"])
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in document.links.items())
    assert isinstance(document.meta, dict)
    assert document.count is None or type(document.count) is int
    for resource in document.data:
        for name in ("user", "anime", "item"):
            try:
                linkage(resource, name)
            except ValueError:
                pass


@FAST
@given(body=st.binary(max_size=200) | JSON.map(orjson.dumps) | DOCUMENT.map(orjson.dumps))
def test_any_body_is_a_document_or_a_transient_error(body: bytes) -> None:
    try:
        document = parse_document(body, "https://kitsu.test/api/edge/users")
    except TransientError as exc:
        assert exc.cause == "malformed"
        return
    _check(document)
    pages = following_pages(document)
    assert pages is None or (len(pages) <= MAX_PAGES + 1 and all(isinstance(u, str) for u in pages))


LINK = st.builds(
    lambda base, offset, limit, junk: f"{base}?page%5Blimit%5D={limit}&page%5Boffset%5D={offset}{junk}",
    st.sampled_from(["https://kitsu.test/api/edge/users", "http://[::1", "http://[x]/", "/relative", ""]),
    st.integers(-50, 10**6) | st.text(max_size=4), st.integers(-2, 600) | st.text(max_size=4), st.text(max_size=10),
)


@FAST
@given(next_link=LINK | st.text(max_size=40), count=st.none() | st.integers(-10, 10**12))
def test_page_links_give_page_urls_or_none(next_link: str, count: int | None) -> None:
    document = Document(url="", data=[], links={"next": next_link}, meta={"count": count})
    pages = following_pages(document)
    assert pages is None or (len(pages) <= MAX_PAGES + 1 and all(isinstance(u, str) for u in pages))
    assert isinstance(query_of(next_link), dict)


def test_retry_after_that_is_not_a_finite_number_is_ignored() -> None:
    from kitsu_ingest.kitsu.client import _seconds

    assert [_seconds(v) for v in ("3", "-1", "inf", "nan", "1e400", "soon", None)] == [3.0, 0.0] + [None] * 5


def test_time_offsets_are_converted_to_utc() -> None:
    row = entry_row({"id": "1", "type": "libraryEntries",
                     "attributes": {"status": "current", "updatedAt": "2020-01-01T03:00:00+02:00"},
                     "relationships": {"user": _users(2), "anime": {"data": None}}}, NOW)
    assert row["updated_at"] == datetime(2020, 1, 1, 1) == datetime(2020, 1, 1, 3) - timedelta(hours=2)
