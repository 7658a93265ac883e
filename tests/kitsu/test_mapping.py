from __future__ import annotations

from datetime import datetime

import pytest

from kitsu_ingest.crawl.mapping import (
    ENTRY_STATUSES,
    MalformedRecord,
    anime_row,
    entry_row,
    favorite_row,
    parse_time,
    user_row,
)
from kitsu_ingest.domain import LIBRARY_STATUSES

NOW = datetime(2024, 1, 1)


def entry(**attributes: object) -> dict[str, object]:
    return {
        "id": "36121977",
        "type": "libraryEntries",
        "attributes": {"status": "dropped", "progress": 6, "reconsuming": False, "reconsumeCount": 0,
                       "ratingTwenty": None, "updatedAt": "2020-04-03T01:38:56.763Z"} | attributes,
        "relationships": {"user": {"data": {"type": "users", "id": "391768"}},
                          "anime": {"data": {"type": "anime", "id": "12"}}},
    }


def test_parse_time_gives_naive_utc() -> None:
    assert parse_time("2020-04-03T01:38:56.763Z") == datetime(2020, 4, 3, 1, 38, 56, 763000)
    assert parse_time("2020-04-03T03:00:00+02:00") == datetime(2020, 4, 3, 1, 0)
    assert parse_time(None) is None


def test_entry_row() -> None:
    row = entry_row(entry(ratingTwenty=14), NOW)
    assert (row["id"], row["user_id"], row["anime_id"], row["status"], row["progress"], row["rating_twenty"]) == (
        36121977, 391768, 12, "dropped", 6, 14)


def test_nsfw_entry_has_no_anime_yet() -> None:
    resource = entry()
    resource["relationships"]["anime"] = {"data": None}  # type: ignore[index]
    assert entry_row(resource, NOW)["anime_id"] is None


@pytest.mark.parametrize(
    "change",
    [{"status": "watching"}, {"progress": "six"}, {"ratingTwenty": 25}, {"updatedAt": "yesterday"}],
)
def test_malformed_entries_keep_their_payload(change: dict[str, object]) -> None:
    with pytest.raises(MalformedRecord) as caught:
        entry_row(entry(**change), NOW)
    assert '"36121977"' in caught.value.payload


def test_entry_without_owner_is_malformed() -> None:
    resource = entry()
    del resource["relationships"]["user"]  # type: ignore[attr-defined]
    with pytest.raises(MalformedRecord, match="no user linkage"):
        entry_row(resource, NOW)


def test_favorite_rows_keep_only_anime() -> None:
    def fav(kind: str) -> dict[str, object]:
        return {"id": "5", "type": "favorites", "attributes": {"favRank": 2},
                "relationships": {"user": {"data": {"type": "users", "id": "7"}},
                                  "item": {"data": {"type": kind, "id": "99"}}}}

    assert favorite_row(fav("anime"), NOW) == {
        "id": 5, "user_id": 7, "anime_id": 99, "fav_rank": 2, "created_at": None, "updated_at": None,
        "fetched_at": NOW}
    assert favorite_row(fav("characters"), NOW) is None


def test_user_and_anime_rows() -> None:
    user = user_row({"id": "391768", "type": "users", "attributes": {
        "name": "likesbikes", "lifeSpentOnAnime": 0, "ratingsCount": 179, "favoritesCount": 27,
        "createdAt": "2018-10-14T17:15:32.619Z"}}, NOW)
    assert (user["id"], user["ratings_count"], user["favorites_count"], user["followers_count"]) == (
        391768, 179, 27, 0)
    anime = anime_row({"id": "1", "type": "anime", "attributes": {
        "canonicalTitle": "Cowboy Bebop", "averageRating": "82.25", "episodeCount": 26, "nsfw": False}}, NOW)
    assert (anime["canonical_title"], anime["average_rating"], anime["episode_count"]) == ("Cowboy Bebop", 82.25, 26)


def test_entry_statuses_are_the_domain_statuses() -> None:
    assert ENTRY_STATUSES == set(LIBRARY_STATUSES) and len(LIBRARY_STATUSES) == 5
