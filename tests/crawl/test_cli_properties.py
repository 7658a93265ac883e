"""Property-based tests of what meets the command line: `crawl --users` and `crawl --since`.
Any text gives a valid value or click.BadParameter (one line for the user), never another error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import click
from hypothesis import given, settings
from hypothesis import strategies as st

from kitsu_ingest.crawl.cli import _since, _user_ids
from kitsu_ingest.domain import MAX_ID

FAST = settings(max_examples=200, deadline=None)
COMMAND = click.Command("crawl")
CONTEXT = click.Context(COMMAND)
USERS = click.Option(["--users"])
SINCE = click.Option(["--since"])

NUMBERS = st.integers(-(2**70), 2**70).map(str) | st.text("0123456789_+- ", min_size=1, max_size=25)
ID_LISTS = st.lists(NUMBERS, min_size=0, max_size=5).map(",".join)


@FAST
@given(text=st.text() | ID_LISTS)
def test_user_ids_are_valid_or_refused(text: str) -> None:
    try:
        ids = _user_ids(CONTEXT, USERS, text)
    except click.BadParameter:
        return
    assert ids and all(type(i) is int and 1 <= i <= MAX_ID for i in ids)


@FAST
@given(ids=st.lists(st.integers(1, MAX_ID), min_size=1, max_size=6))
def test_valid_user_ids_come_back(ids: list[int]) -> None:
    assert _user_ids(CONTEXT, USERS, " , ".join(map(str, ids))) == tuple(ids)


# Whole seconds: Python 3.11's fromisoformat drops an offset's microseconds (no real zone has them).
OFFSETS = st.integers(-(24 * 3600 - 60), 24 * 3600 - 60).map(lambda seconds: timedelta(seconds=seconds))
TIMES = st.builds(lambda t, offset: t.replace(tzinfo=timezone(offset)), st.datetimes(), OFFSETS)


@FAST
@given(text=st.text() | TIMES.map(datetime.isoformat) | st.dates().map(str))
def test_since_is_naive_utc_or_refused(text: str) -> None:
    try:
        since = _since(CONTEXT, SINCE, text)
    except click.BadParameter:
        return
    assert isinstance(since, datetime) and since.tzinfo is None


@FAST
@given(moment=TIMES)
def test_since_converts_any_offset_to_utc(moment: datetime) -> None:
    try:
        expected = moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # before year 1 or after 9999 in UTC: refused, in one line
        try:
            _since(CONTEXT, SINCE, moment.isoformat())
        except click.BadParameter as exc:
            assert "out of range once converted to UTC" in str(exc)
            return
        raise AssertionError(f"{moment.isoformat()} was accepted") from None
    if expected > datetime.now(UTC).replace(tzinfo=None):  # in the future: refused, in one line
        try:
            _since(CONTEXT, SINCE, moment.isoformat())
        except click.BadParameter as exc:
            assert "is in the future" in str(exc)
            return
        raise AssertionError(f"{moment.isoformat()} was accepted")
    assert _since(CONTEXT, SINCE, moment.isoformat()) == expected
