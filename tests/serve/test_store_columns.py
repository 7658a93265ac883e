"""The store read as typed columns gives exactly the interactions the row-by-row reader gives."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from kitsu_ingest.store.models import Favorite, LibraryEntry
from kitsu_ingest.store.upsert import upsert
from recommender.data.events import EventWeights
from recommender.data.sources import load_interactions
from recommender.data.store import StoreReader
from recommender.errors import DataError

from .conftest import NOW, entry, fill


def _both(engine: Engine, weights: EventWeights | None = None, **options: bool | int) -> tuple:
    reader = StoreReader(engine)
    columns = load_interactions(None, weights, store=reader, **options)  # type: ignore[arg-type]
    rows = load_interactions(None, weights, store=reader, times=True, **options)  # type: ignore[arg-type]
    return columns, rows


@pytest.mark.parametrize("options", [{}, {"kinds": True}, {"min_user_items": 5, "min_item_users": 3}])
def test_columns_and_rows_give_the_same_interactions(store: Engine, options: dict) -> None:
    fill(store)
    upsert(store, Favorite.__table__, [  # type: ignore[attr-defined]
        {"id": 2, "user_id": 8, "anime_id": 1002, "fav_rank": 0, "fetched_at": NOW},  # also in the library
        {"id": 3, "user_id": 900, "anime_id": 1001, "fav_rank": 0, "fetched_at": NOW}])  # a favourite only
    upsert(store, LibraryEntry.__table__, [entry(77_777, 10, 1005, "dropped"), entry(77_778, 11, 1006, "on_hold")])  # type: ignore[attr-defined]
    columns, rows = _both(store, **options)
    assert columns.fingerprint() == rows.fingerprint()
    assert columns.times is None and rows.times is not None
    assert columns.kinds == rows.kinds
    if options.get("kinds"):
        assert columns.event_counts is not None and rows.event_counts is not None
        np.testing.assert_array_equal(columns.event_counts, rows.event_counts)
        assert columns.event_counts.sum() == rows.event_counts.sum() > columns.nnz  # favourites doubled some


def test_a_zero_weight_drops_pairs_alike(store: Engine) -> None:
    fill(store)
    weights = EventWeights({"completed": 0.0, "current": 4, "planned": 3, "on_hold": 2, "dropped": 1}, favorite=5)
    columns, rows = _both(store, weights)
    assert columns.fingerprint() == rows.fingerprint()
    assert columns.nnz == 2  # user 7's planned entry and favourite


def test_a_status_beyond_kitsus_five_is_named(store: Engine) -> None:
    fill(store)
    upsert(store, LibraryEntry.__table__, [entry(88_888, 3, 1010, "rewatching")])  # type: ignore[attr-defined]
    with pytest.raises(DataError, match="rewatching"):
        load_interactions(None, store=StoreReader(store))


def test_a_store_without_entries_says_to_crawl(store: Engine) -> None:
    with pytest.raises(DataError, match="kitsu-ingest crawl"):
        load_interactions(None, store=StoreReader(store))


def test_popular_is_kitsus_count_where_the_store_has_it(store: Engine) -> None:
    from sqlalchemy import update

    from kitsu_ingest.store.models import Anime

    fill(store)
    reader = StoreReader(store)
    counted = reader.popular(3)  # no user_count stored: counted in the libraries
    assert [n for _, n in counted] == sorted((n for _, n in counted), reverse=True) and counted[0][1] > 1
    with store.begin() as conn:
        conn.execute(update(Anime.__table__).where(Anime.__table__.c.id == 1029).values(user_count=90_000))  # type: ignore[attr-defined]
        conn.execute(update(Anime.__table__).where(Anime.__table__.c.id == 1001).values(user_count=50_000))  # type: ignore[attr-defined]
    assert reader.popular(3) == [(1029, 90_000), (1001, 50_000)]
