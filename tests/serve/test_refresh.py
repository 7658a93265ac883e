"""`recommend refresh`: changed users folded into a new version; other data and families refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from kitsu_ingest.store.models import LibraryEntry, User
from recommender.data.events import apply_confidence
from recommender.data.sources import load_interactions
from recommender.data.store import StoreReader
from recommender.registry import list_models, load_model

from .conftest import PARAMS, Trained

BEFORE = "2023-12-31"  # before the fixture store was fetched (2024-01-01)


def _touch(trained: Trained, *users: int) -> None:
    """Mark the users' rows as fetched now, as a crawl would."""
    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=5)
    with trained.engine.begin() as conn:
        conn.execute(update(LibraryEntry.__table__).where(LibraryEntry.__table__.c.user_id.in_(users))  # type: ignore[attr-defined]
                     .values(fetched_at=now))
        conn.execute(update(User.__table__).where(User.__table__.c.id.in_(users)).values(fetched_at=now))  # type: ignore[attr-defined]


def test_nothing_changed_saves_nothing(trained: Trained) -> None:
    code, out, _ = trained.cli("refresh")
    assert code == 0 and "nothing changed" in out and trained.version in out
    assert len(list_models(trained.model_dir)) == 1


def test_changed_and_new_users_are_folded_in(trained: Trained, add_entries: Callable[..., None]) -> None:
    base = load_model(trained.model_dir)
    add_entries(5, [1001, 1004, 1007], "completed")  # user 5 (group 2) now also holds group-1 anime
    add_entries(4242, [1000, 1003, 1006, 1009])  # a new user, group 0
    add_entries(4243, [1002, 9999])  # a new user, with an anime the model lacks
    _touch(trained, 5, 4242, 4243)
    code, out, err = trained.cli("refresh", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["base"] == trained.version and report["version"] != trained.version
    assert (report["changed_users"], report["refolded"], report["appended"]) == (3, 1, 2)
    assert report["new_anime"] == 1
    fresh = load_model(trained.model_dir)
    assert fresh.version == report["version"] and fresh.card.search["refresh"]["base"] == trained.version
    assert list(fresh.user_ids[-2:]) == [4242, 4243] and len(fresh.user_ids) == len(base.user_ids) + 2
    unchanged = base.user_ids != 5
    np.testing.assert_array_equal(fresh.model.user_factors[:len(base.user_ids)][unchanged],  # type: ignore[attr-defined]
                                  base.model.user_factors[unchanged])  # type: ignore[attr-defined]
    # User 5's new factors are the exact least-squares solve on their row of today's matrix.
    data = load_interactions(None, store=StoreReader(trained.engine))
    confidence = apply_confidence(data.matrix, PARAMS["transform"], PARAMS["bm25"])
    row = confidence[int(np.flatnonzero(data.user_ids == 5)[0])]
    expected = base.model.solver().recalculate_user(0, row)  # type: ignore[attr-defined]
    at = int(np.flatnonzero(fresh.user_ids == 5)[0])
    np.testing.assert_allclose(fresh.model.user_factors[at], expected, rtol=1e-4, atol=1e-5)  # type: ignore[attr-defined]
    # The new user is served from the model now, with anime of their group first.
    code, out, _ = trained.cli("user", "4242", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["source"] == "model"
    assert all((item["anime_id"] - 1000) % 3 == 0 for item in answer["items"][:3])


def test_since_overrides_the_models_time(trained: Trained) -> None:
    code, out, _ = trained.cli("refresh", "--since", BEFORE, "--json")  # every user was stored since
    report = json.loads(out)
    assert code == 0 and report["changed_users"] == 61  # user 900 too, whose library is empty
    assert report["refolded"] == 60 and report["appended"] == 0


def test_bad_since_is_one_line(trained: Trained) -> None:
    code, _, err = trained.cli("refresh", "--since", "yesterday")
    assert code == 2 and "--since 'yesterday' is not a date" in err and "Traceback" not in err


def test_a_model_of_another_family_is_refused(trained: Trained) -> None:
    from recommender.data.store import StoreReader
    from recommender.models.baselines import Popularity
    from recommender.registry import replace, save_model

    base = load_model(trained.model_dir)
    data = load_interactions(None, store=StoreReader(trained.engine))
    save_model(trained.model_dir, Popularity().fit(data.matrix), data.user_ids, data.item_ids,
               replace(base.card, family="popularity", params={}))
    code, _, err = trained.cli("refresh", "--since", BEFORE)
    assert code == 2 and "popularity, which cannot fold users in" in err and len(list_models(trained.model_dir)) == 2


def test_a_model_of_other_data_is_refused(trained: Trained, tmp_path: Path) -> None:
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    from .conftest import fill

    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    fill(other, users=range(500, 560))
    from click.testing import CliRunner

    from recommender.cli import main

    result = CliRunner().invoke(main, ["refresh", "--since", BEFORE, "--database-url", str(other.url),
                                       "--model-dir", str(trained.model_dir)])
    assert result.exit_code == 2 and "other data" in result.stderr
    assert len(list_models(trained.model_dir)) == 1


@pytest.mark.parametrize("source", [{"kind": "file", "path": "x.csv"}])
def test_a_model_trained_on_a_file_is_not_refreshed_from_the_store(trained: Trained, source: dict) -> None:
    """A file model is refreshed from its file (`refresh_file`), never from a store: --since is
    refused, and a file model saved without its training rows says to retrain."""
    meta = trained.model_dir / trained.version / "meta.json"
    card = json.loads(meta.read_text())
    meta.write_text(json.dumps({**card, "source": source}))
    code, _, err = trained.cli("refresh", "--since", BEFORE)
    assert code == 2 and "--since is for a store's model" in err and len(list_models(trained.model_dir)) == 1
    code, _, err = trained.cli("refresh")
    assert code == 2 and "trained on a file before models carried" in err and len(list_models(trained.model_dir)) == 1


@pytest.mark.parametrize("family", ["itemknn", "ease"])
def test_item_models_refresh_by_replacing_the_users_rows(trained: Trained, add_entries: Callable[..., None],
                                                         tmp_path: Path, family: str) -> None:
    from click.testing import CliRunner

    from recommender.cli import main
    from recommender.serving.recommender import MODEL, Recommender
    from tests.serve.test_families import _save

    folder = tmp_path / family
    base = _save(trained, family, folder).saved
    add_entries(5, [1001, 1004, 1007], "completed")
    add_entries(4242, [1000, 1003, 1006, 1009])
    _touch(trained, 5, 4242)
    outcome = CliRunner().invoke(main, ["refresh", "--json", "--model-dir", str(folder), "--database-url", trained.url])
    assert outcome.exit_code == 0, outcome.stderr
    report = json.loads(outcome.stdout)
    assert (report["changed_users"], report["refolded"], report["appended"]) == (2, 1, 1)
    fresh = load_model(folder)
    old, new = base.model.train, fresh.model.train  # type: ignore[attr-defined]
    assert new.shape == (old.shape[0] + 1, old.shape[1]) and fresh.user_ids[-1] == 4242
    unchanged = np.flatnonzero(base.user_ids != 5)
    assert (new[unchanged] != old[unchanged]).nnz == 0
    data = load_interactions(None, store=StoreReader(trained.engine))
    np.testing.assert_array_equal(data.item_ids, base.item_ids)
    confidence = apply_confidence(data.matrix, "linear", False)
    for user in (5, 4242):
        mine = new[int(np.flatnonzero(fresh.user_ids == user)[0])]
        today = confidence[int(np.flatnonzero(data.user_ids == user)[0])]
        assert (mine != today).nnz == 0 and mine.nnz > 0
    assert Recommender.load(folder, None, StoreReader.open(trained.url)).user(4242).source == MODEL
