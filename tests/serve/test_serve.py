"""The Recommender service: exclusions, explanations, fold-in, fallback, similar anime."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sqlalchemy import delete

from kitsu_ingest.store.models import Anime
from recommender.ranking import Exclusions, TopN, top_n_row
from recommender.serving.recommender import FALLBACK, FOLDED_IN, MODEL, NotFound

from .conftest import ITEMS, Trained, group


def _held(trained: Trained, user: int) -> set[int]:
    return trained.recommender().catalogue.user_events(user).excluded()


def test_never_recommends_library_or_favourites(trained: Trained) -> None:
    rec = trained.recommender()
    for user in (1, 2, 3, 7, 30):
        result = rec.user(user, n=len(ITEMS))
        assert result.source == MODEL and result.version == trained.version
        ids = [r.anime_id for r in result.items]
        assert ids and not set(ids) & _held(trained, user)
        assert len(ids) == len(ITEMS) - len(_held(trained, user))
        scores = [r.score for r in result.items]
        assert scores == sorted(scores, reverse=True)
    top = rec.user(1, n=3).items
    assert all(r.title and r.subtype for r in top)
    assert sum(group(r.anime_id) == 1 % 3 for r in top) >= 2  # taste groups are learned


def test_planned_back_only_with_the_option(trained: Trained) -> None:
    rec = trained.recommender()
    default = {r.anime_id for r in rec.user(7, n=len(ITEMS)).items}
    planned = {r.anime_id for r in rec.user(7, n=len(ITEMS), include_planned=True).items}
    assert 1028 not in default and 1004 not in default
    assert planned - default == {1028}  # the favourite stays out


def test_explain_names_the_users_own_anime(trained: Trained,
                                           add_entries: Callable[..., None]) -> None:
    rec = trained.recommender()
    held = _held(trained, 1)
    for item in rec.user(1, n=3, explain=True).items:
        assert item.because and len(item.because) <= 3
        assert {c.anime_id for c in item.because} <= held
        assert all(c.title for c in item.because)
    assert all(r.because is None for r in rec.user(1, n=3).items)
    # folded in: the contributions of all the user's anime add up to the score
    add_entries(501, [1000, 1003, 1006])
    folded = rec.user(501, n=1, explain=True)
    assert folded.source == FOLDED_IN
    als = rec.model.solver()
    confidence = rec._confidence(rec.catalogue.user_events(501))
    column = rec.items.position(folded.items[0].anime_id)
    total, _, _ = als.explain(0, confidence, column, N=10)
    assert total == pytest.approx(folded.items[0].score, rel=1e-3)


def test_fold_in_a_user_crawled_after_training(trained: Trained,
                                                add_entries: Callable[..., None]) -> None:
    rec = trained.recommender()
    add_entries(500, [a for a in ITEMS if group(a) == 2][:6])
    result = rec.user(500, n=4)
    assert result.source == FOLDED_IN
    assert not {r.anime_id for r in result.items} & _held(trained, 500)
    assert sum(group(r.anime_id) == 2 for r in result.items) >= 3
    code, out, err = trained.cli("user", "500", "-n", "2")
    assert code == 0, err
    assert "folded in from the store" in out


def test_fallback_for_a_user_without_interactions(trained: Trained,
                                                   add_entries: Callable[..., None]) -> None:
    rec = trained.recommender()
    result = rec.user(900, n=5)
    assert result.source == FALLBACK and len(result.items) == 5
    counts = [r.score for r in result.items]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    add_entries(901, [5555])  # only an anime the model does not know: nothing to fold in
    odd = rec.user(901, n=5)
    assert odd.source == FALLBACK and 5555 not in {r.anime_id for r in odd.items}
    code, out, _ = trained.cli("user", "900")
    assert code == 0 and "popular anime (fallback)" in out


def test_unknown_user_is_not_found(trained: Trained) -> None:
    with pytest.raises(NotFound, match="user 4242 is unknown"):
        trained.recommender().user(4242)


def test_similar_by_id_and_by_title(trained: Trained) -> None:
    rec = trained.recommender()
    result = rec.similar(1000, n=5)
    assert result.anime.id == 1000 and result.anime.title == "Show 1000 Sora"
    ids = [r.anime_id for r in result.items]
    assert 1000 not in ids and len(ids) == 5
    assert sum(group(a) == 0 for a in ids) >= 3
    assert all(-1.0 - 1e-5 <= r.score <= 1.0 + 1e-5 for r in result.items)
    assert rec.similar("show 1003", n=5).anime.id == 1003  # exact title first
    assert rec.similar("1003 SORA", n=2).anime.id == 1003
    with pytest.raises(NotFound, match="no anime titled"):
        rec.similar("no such show")
    with pytest.raises(NotFound, match="anime 77 is not in model"):
        rec.similar(77)


def test_anime_missing_from_the_store_shows_the_id(trained: Trained) -> None:
    with trained.engine.begin() as conn:
        conn.execute(delete(Anime.__table__))  # type: ignore[arg-type]
    result = trained.recommender().user(1, n=3)
    assert len(result.items) == 3 and all(r.title is None for r in result.items)
    code, out, err = trained.cli("user", "1", "-n", "3")
    assert code == 0, err
    assert f"(anime {result.items[0].anime_id} is not in the store)" in out


def test_topn_batch_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    items, users = rng.standard_normal((1000, 16)), rng.standard_normal((70, 16))
    pairs = rng.integers(0, 1000, (2, 3000))
    exclusions = Exclusions.from_pairs(pairs[0] % 70, pairs[1], 70)
    for block in (8, 128, 2000):
        ranker = TopN(items, block=block)
        for n in (1, 10, 40):
            columns, scores = ranker.batch(users, n, exclusions)
            for u in range(70):
                excluded = exclusions.indices[exclusions.indptr[u]:exclusions.indptr[u + 1]]
                want, _ = top_n_row((items @ users[u]).astype(np.float32), n, excluded)
                assert columns[u].tolist() == want.tolist()
    few = TopN(items[:5], block=2)
    columns, scores = few.batch(users[:2], 10, Exclusions(np.array([0, 2, 2]), np.array([0, 1])))
    assert columns.shape == (2, 5) and (columns[0] == -1).sum() == 2
    assert np.isneginf(scores[0][-2:]).all()


def test_a_users_confidence_row_is_their_row_of_the_training_matrix(trained: Trained) -> None:
    from recommender.data.events import apply_confidence
    from recommender.data.sources import load_interactions

    from .conftest import PARAMS

    rec = trained.recommender()
    data = load_interactions(None, rec.card.weights, store=rec.catalogue)
    np.testing.assert_array_equal(data.item_ids, rec.saved.item_ids)
    confidence = apply_confidence(data.matrix, PARAMS["transform"], False)
    for position, user in enumerate(data.user_ids):
        mine = rec._confidence(rec.catalogue.user_events(int(user)))
        np.testing.assert_allclose(mine.toarray(), confidence[position].toarray(), rtol=1e-6)
