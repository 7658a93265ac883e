"""The population: determinism, id space, calibration, counters and the taste signal."""

from __future__ import annotations

import numpy as np

from kitsu_ingest.emulator import HEAVY_USER, Population
from kitsu_ingest.emulator.population import ENTRY_STRIDE


def _same_user(a: Population, b: Population, uid: int) -> None:
    ua, ub = a.user(uid), b.user(uid)
    assert ua.name == ub.name and ua.counters == ub.counters and ua.favorites == ub.favorites
    for name in ("ids", "anime", "status", "progress", "rating", "created", "updated", "private"):
        np.testing.assert_array_equal(getattr(ua.library, name), getattr(ub.library, name))


def test_same_seed_same_population_whatever_the_size() -> None:
    a, b = Population(500, 7), Population(50_000, 7)
    assert np.array_equal(a.user_ids[:400], b.user_ids[:400])
    for uid in [*a.user_ids[:60].tolist(), HEAVY_USER]:
        _same_user(a, b, uid)


def test_other_seed_other_population() -> None:
    a, b = Population(300, 7), Population(300, 8)
    assert not np.array_equal(a.user_ids, b.user_ids)
    assert a.user(HEAVY_USER).library.anime.tolist() != b.user(HEAVY_USER).library.anime.tolist()


def test_ids_have_gaps_and_include_the_heavy_user() -> None:
    pop = Population(1000, 7)
    ids = pop.user_ids
    assert len(ids) == len(pop) == 1000 and np.all(np.diff(ids) > 0)
    assert pop.exists(HEAVY_USER) and ids[-1] == HEAVY_USER
    gaps = set(range(1, int(ids[-2]))) - set(ids.tolist())
    assert 40 < len(gaps) < 150  # ~8% deleted
    assert all(pop.get(g) is None for g in list(gaps)[:20])
    assert Population(100_000, 7).exists(HEAVY_USER)


def test_heavy_user_is_heavy(population: Population) -> None:
    user = population.user(HEAVY_USER)
    assert 300 <= len(user.library) < 1000
    assert sum(f.item_type == "Anime" for f in user.favorites) >= 24


def test_counters_match_the_library(population: Population) -> None:
    cat = population.catalogue
    for uid in population.user_ids[:300].tolist():
        u = population.user(uid)
        lib = u.library
        assert u.counters["ratingsCount"] == int((lib.rating > 0).sum())
        assert u.counters["favoritesCount"] == len(u.favorites)
        assert u.counters["lifeSpentOnAnime"] == int((lib.progress * cat.episode_length[lib.anime]).sum())
        assert np.all(lib.ids // ENTRY_STRIDE == uid) and np.all(np.diff(lib.ids) > 0)
        assert len(set(lib.anime.tolist())) == len(lib)
        assert np.all(lib.updated >= lib.created) and np.all(lib.created >= u.created)
        ranks: dict[str, list[int]] = {}
        for f in u.favorites:
            ranks.setdefault(f.item_type, []).append(f.rank)
        assert all(r == list(range(len(r))) for r in ranks.values())


def test_library_shape_is_heavy_tailed_and_status_mix_calibrated(population: Population) -> None:
    users = [population.user(u) for u in population.user_ids[:2000].tolist()]
    lengths = np.array([len(u.library) for u in users])
    assert 0.2 < (lengths == 0).mean() < 0.4
    assert 0.15 < (lengths <= 10).mean() - (lengths == 0).mean() < 0.35
    assert (lengths > 1000).sum() >= 10 and lengths.max() <= 4000
    active = lengths[lengths > 15]
    assert 150 < np.median(active) < 600
    status = np.concatenate([u.library.status for u in users])
    share = np.bincount(status, minlength=5) / len(status)  # completed, planned, current, on_hold, dropped
    assert 0.65 < share[0] < 0.85 and 0.07 < share[1] < 0.2 and share[4] < 0.1
    ratings = np.concatenate([u.library.rating for u in users])
    assert 0.2 < (ratings > 0).mean() < 0.6 and ratings.max() <= 20
    assert sum(u.library.private.sum() for u in users) > 0
    assert sum(population.catalogue.nsfw[u.library.anime].sum() for u in users) > 0


def test_users_of_one_taste_overlap_more_than_random(population: Population) -> None:
    users = [u for u in (population.user(x) for x in population.user_ids[:1500].tolist())
             if len(u.library) >= 30]
    sets = [set(u.library.anime.tolist()) for u in users]
    groups = np.array([u.taste_group for u in users])
    rng = np.random.default_rng(0)
    same, other = [], []
    for _ in range(3000):
        i, j = rng.integers(len(users), size=2)
        if i == j:
            continue
        jac = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
        (same if groups[i] == groups[j] else other).append(jac)
    assert np.mean(same) > 1.8 * np.mean(other)


def test_taste_beats_popularity_on_held_out_entries(population: Population) -> None:
    """A stand-in for ALS: 'popular within the user's favourite category' beats global popularity."""
    cat, rng = population.catalogue, np.random.default_rng(1)
    train, test = [], []
    for uid in population.user_ids[:2500].tolist():
        anime = population.user(uid).library.anime
        if len(anime) >= 20:
            mask = rng.random(len(anime)) < 0.2
            train.append(anime[~mask])
            test.append(set(anime[mask].tolist()))
    counts = np.bincount(np.concatenate(train), minlength=len(cat)).astype(float)
    hits_pop = hits_taste = 0
    for seen, held in zip(train, test):
        fav = np.bincount(cat.taste[seen]).argmax()
        for scores, add in ((counts.copy(), 0), (counts * (cat.taste == fav), 1)):
            scores[seen] = -1
            top = set(np.argpartition(-scores, 10)[:10].tolist())
            if add:
                hits_taste += len(top & held)
            else:
                hits_pop += len(top & held)
    assert hits_taste > 1.5 * hits_pop
