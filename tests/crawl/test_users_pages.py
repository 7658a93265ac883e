"""`--all`'s walk over the users pages while the site changes under it (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kitsu_ingest.crawl.users_pages import UsersCursor, read_page


def walk(site: list[int], changes: dict[int, list[tuple[str, int]]] | None = None, limit: int = 5,
         ) -> tuple[list[int], list[str]]:
    """Walk a site (user ids in order), applying `changes[k]` before the k-th request; return the
    users registered, in order, and the anomalies met."""
    site, changes = list(site), changes or {}
    cursor, registered, anomalies = UsersCursor(), [], []
    for request in range(1000):
        for kind, uid in changes.get(request, []):
            if kind == "delete" and uid in site:
                site.remove(uid)
            elif kind == "add":
                site = sorted({*site, uid})
        offset = cursor.request_offset
        ids = site[offset : offset + limit]
        verdict = read_page(cursor, offset, ids, len(site), limit)
        registered += [ids[i] for i in verdict.new]
        anomalies += [kind for kind, _ in verdict.anomalies]
        if verdict.done:
            return registered, anomalies
    raise AssertionError("the walk never ended")


def test_a_quiet_site_is_walked_once_with_one_user_of_overlap() -> None:
    site = list(range(3, 300, 3))
    registered, anomalies = walk(site)
    assert registered == site and anomalies == []
    cursor = UsersCursor()
    assert cursor.request_offset == 0
    read_page(cursor, 0, [1, 2, 3, 4, 5], 99, 5)
    assert (cursor.offset, cursor.last_id, cursor.request_offset) == (5, 5, 4)


def test_deletions_before_the_cursor_are_detected_and_nobody_is_skipped() -> None:
    site = list(range(1, 101))
    registered, anomalies = walk(site, {4: [("delete", 2), ("delete", 7)], 9: [("delete", 30)]})
    assert registered == site and len(registered) == len(set(registered))
    assert "users-shifted" in anomalies and "users-count-changed" in anomalies


def test_users_deleted_ahead_of_the_cursor_and_new_users_at_the_end() -> None:
    site = list(range(1, 51))
    # Pages of 5 read from one user back: the 4th request starts at user 13, the last registered.
    registered, anomalies = walk(site, {3: [("delete", 15), ("add", 60), ("add", 61)], 5: [("delete", 13)]})
    assert registered == [uid for uid in site if uid != 15] + [60, 61]
    assert anomalies.count("users-count-changed") == 2 and "users-shifted" in anomalies


def test_users_inserted_before_the_cursor_are_repeats_dropped() -> None:
    site = list(range(10, 200, 10))
    registered, anomalies = walk(site, {3: [("add", 11), ("add", 12)]})
    assert registered == site  # the two new users sit before the cursor: not this walk's
    assert "users-repeated" in anomalies


def test_an_unsorted_page_is_filed_and_still_walked() -> None:
    cursor = UsersCursor()
    verdict = read_page(cursor, 0, [3, 1, 2], 3, 5)
    assert [kind for kind, _ in verdict.anomalies] == ["users-unsorted"] and verdict.done
    assert verdict.new == [1, 2, 0] and cursor.last_id == 3


def test_a_listing_that_keeps_shifting_gives_up_in_one_line() -> None:
    cursor = UsersCursor(offset=10_000, last_id=50)
    with pytest.raises(ValueError, match="keeps shifting"):
        for _ in range(100):
            read_page(cursor, cursor.request_offset, [1000, 1001], 20_000, 2)


@pytest.mark.parametrize("guess", [0, 3, 40, 55, 80, 400])
def test_a_walk_from_a_guessed_offset_finds_the_users_after_the_last_one_silently(guess: int) -> None:
    site = [uid for uid in range(1, 120) if uid % 7]  # ids with gaps, as deleted accounts leave
    cursor = UsersCursor(offset=guess, last_id=60, seeking=True)
    registered, anomalies = [], []
    while True:
        offset = cursor.request_offset
        ids = site[offset : offset + 5]
        verdict = read_page(cursor, offset, ids, len(site), 5)
        registered += [ids[i] for i in verdict.new]
        anomalies += verdict.anomalies
        if verdict.done:
            break
    assert registered == [uid for uid in site if uid > 60] and anomalies == [] and not cursor.seeking


def test_the_cursor_survives_a_round_trip_through_the_store() -> None:
    cursor = UsersCursor(offset=40, last_id=77, count=900, seeking=True)
    assert UsersCursor.from_params(cursor.to_params()) == cursor
    assert UsersCursor.from_params(None) == UsersCursor()


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(0, 80),
    limit=st.integers(2, 7),  # pages of one user cannot overlap: Kitsu's are 20
    events=st.lists(st.tuples(st.integers(0, 60), st.sampled_from(["delete", "add"]), st.integers(1, 200)),
                    max_size=30),
)
def test_every_user_who_stays_is_registered_exactly_once(size: int, limit: int,
                                                         events: list[tuple[int, str, int]]) -> None:
    site = list(range(1, 2 * size + 1, 2))
    changes: dict[int, list[tuple[str, int]]] = {}
    for when, kind, uid in events:
        # Kitsu gives new users new, higher ids: an addition is above every id so far.
        changes.setdefault(when, []).append((kind, uid if kind == "delete" else 1000 + uid))
    registered, _ = walk(site, changes, limit)
    deleted = {uid for steps in changes.values() for kind, uid in steps if kind == "delete"}
    assert len(registered) == len(set(registered))
    assert set(site) - deleted <= set(registered)
