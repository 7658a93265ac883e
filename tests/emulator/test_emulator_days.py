"""The world after day 0: edits, additions, deletions, new users, their facts, truth and CLI options."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from kitsu_ingest.emulator import (
    HEAVY_USER,
    NOW,
    EmulatorConfig,
    Population,
    create_app,
    day_start,
    ground_truth,
    in_process_transport,
    user_truth,
)
from kitsu_ingest.emulator.days import active
from kitsu_ingest.emulator.model import ENTRY_STRIDE, Library
from kitsu_ingest.errors import ConfigError

USERS, SEED, DAY = 1500, 7, 3
T0 = "2021-11-30T00:00:00.000Z"
_COLUMNS = tuple(Library.__dataclass_fields__)


def _same_library(a: Library, b: Library) -> None:
    for name in _COLUMNS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _same_user(a: Population, b: Population, uid: int) -> None:
    ua, ub = a.user(uid), b.user(uid)
    assert (ua.name, ua.created, ua.updated, ua.counters, ua.favorites, ua.profile) == (
        ub.name, ub.created, ub.updated, ub.counters, ub.favorites, ub.profile)
    _same_library(ua.library, ub.library)


@pytest.fixture(scope="module")
def world_app() -> object:
    return create_app(EmulatorConfig(users=USERS, seed=SEED, day=DAY, cache_size=4000))


@pytest.fixture(scope="module")
def world(world_app) -> Population:
    return world_app.state.population


@pytest.fixture(scope="module")
def day0() -> Population:
    return Population(USERS, SEED, cache_size=4000)


@pytest.fixture(scope="module")
def changed_users(world: Population) -> list[int]:
    """Day-0 users active on some day 1..DAY."""
    return [u for u in world.touched_ids().tolist() if u not in set(world.new_user_ids().tolist())]


def test_day_zero_is_todays_world(make_api) -> None:
    plain, zero = Population(300, 7), Population(300, 7, day=0, churn=0.9, growth=0.9)
    assert np.array_equal(plain.user_ids, zero.user_ids) and len(zero.new_user_ids()) == 0
    for uid in [*plain.user_ids[:60].tolist(), HEAVY_USER]:
        _same_user(plain, zero, uid)
    paths = ["/users?page[limit]=20&page[offset]=280", f"/users/{HEAVY_USER}/library-entries?include=anime,user",
             f"/library-entries?filter[since]={T0}&filter[kind]=anime&sort=updatedAt&page[limit]=500"]
    first = [r.content for r in make_api(create_app(EmulatorConfig(users=300, seed=7))).get_many(paths)]
    second = [r.content for r in make_api(create_app(EmulatorConfig(users=300, seed=7, day=0, churn=0.5)))
              .get_many(paths)]
    assert first == second and zero.changed_since(NOW) == zero.deleted_since(1) == 0


def test_same_seed_and_day_same_world(world: Population) -> None:
    again = Population(USERS, SEED, day=DAY, cache_size=64)
    assert np.array_equal(world.user_ids, again.user_ids)
    for uid in world.touched_ids()[:40].tolist():
        _same_user(world, again, uid)
    _same_library(world.delta().entries, again.delta().entries)
    other = Population(USERS, SEED + 1, day=DAY)
    assert not np.array_equal(other.touched_ids(), world.touched_ids())


def test_each_day_builds_on_the_day_before(world: Population, changed_users: list[int]) -> None:
    before = Population(USERS, SEED, day=DAY - 1, cache_size=64)
    last_day = day_start(DAY)
    for uid in changed_users:
        old, new = before.user(uid).library, world.user(uid).library
        kept = np.isin(new.ids, old.ids)
        untouched = kept & (new.updated < last_day)
        _same_library(new.take(untouched), old.take(np.isin(old.ids, new.ids[untouched])))
        assert np.all(new.updated[kept & ~untouched] >= last_day)
        assert np.all(new.created[~kept] >= last_day) and np.all(new.ids[~kept] > old.ids.max(initial=0))


def test_edits_additions_and_deletions_are_plausible(world: Population, day0: Population,
                                                     changed_users: list[int]) -> None:
    cat, end = world.catalogue, day_start(DAY + 1)
    moves: set[tuple[int, int]] = set()
    edited = added = deleted = 0
    for uid in changed_users:
        user, old = world.user(uid), day0.user(uid).library
        lib = user.library
        assert np.all(np.diff(lib.ids) > 0) and np.all(lib.ids // ENTRY_STRIDE == uid)
        assert len(set(lib.anime.tolist())) == len(lib) and (user.nsfw_ok or not cat.nsfw[lib.anime].any())
        assert np.all(lib.updated < end) and np.all(lib.updated >= lib.created)
        assert np.all(np.rint(lib.updated * 1000) / 1000 == lib.updated)
        at = np.searchsorted(old.ids, lib.ids).clip(max=max(len(old) - 1, 0))
        same = np.isin(lib.ids, old.ids)
        was = old.take(at[same])
        now = lib.take(same)
        changed = now.updated >= NOW
        assert np.array_equal(now.anime, was.anime) and np.array_equal(now.private, was.private)
        assert np.array_equal(now.created, was.created) and np.all(now.progress >= was.progress)
        assert np.all(now.updated[changed] > was.updated[changed])
        done = now.status == 0
        assert np.all(now.progress[done & changed] == cat.episode_count[now.anime[done & changed]])
        moves |= set(zip(was.status[changed].tolist(), now.status[changed].tolist()))
        new = lib.take(~same)
        fresh = new.created == new.updated  # added and not edited since
        assert np.all(new.created >= NOW) and np.all(np.isin(new.status[fresh], (1, 2)))
        assert np.all(np.floor((new.created - NOW) / 86400) <= np.floor((new.updated - NOW) / 86400))
        edited, added, deleted = edited + int(changed.sum()), added + len(new), deleted + len(old) - int(same.sum())
        assert user.counters["ratingsCount"] == int((lib.rating > 0).sum())
        anything = bool(changed.any()) or len(new) > 0 or len(old) > int(same.sum())
        assert user.updated >= lib.updated.max(initial=0) and (NOW <= user.updated < end) == anything
    assert {(1, 2), (2, 0), (2, 2), (0, 0), (3, 2)} <= moves and not {(0, 1), (2, 1)} & moves
    assert edited > 20 * added > 0 and 0 < deleted < edited


def test_the_changed_share_is_near_churn(day0: Population) -> None:
    churn = 0.2
    total = sum(len(day0.user(u).library) for u in day0.user_ids.tolist())
    shares = []
    for k in (1, 2):
        pop = Population(USERS, SEED, day=k, churn=churn, cache_size=16)
        there = pop.user_ids[: pop.size]
        stamps = [pop.user(u).library.updated for u in there[active(there, k, SEED, churn)].tolist()]
        shares.append(sum(int(((s >= day_start(k)) & (s < day_start(k + 1))).sum()) for s in stamps) / total)
    assert all(0.75 * churn < s < 1.25 * churn for s in shares) and abs(np.mean(shares) / churn - 1) < 0.15


def test_new_users_are_listed_counted_and_in_the_truth(world: Population, make_api, world_app) -> None:
    api = make_api(world_app)
    new = world.new_user_ids()
    assert len(new) == DAY * world.registrations_per_day == DAY * 2 and new.min() > HEAVY_USER
    assert len(world) == USERS + len(new) and np.array_equal(world.user_ids[-len(new):], new)
    assert np.array_equal(world.new_user_ids(DAY), new[-2:])
    assert api.json("/users?page[limit]=1")["meta"]["count"] == len(world)
    tail = api.json(f"/users?page[limit]=20&page[offset]={len(world) - 20}")
    assert [int(u["id"]) for u in tail["data"]][-len(new):] == new.tolist()
    found = api.json(f"/users?filter[id]={new[0]},{new[-1]}")
    assert [int(u["id"]) for u in found["data"]] == [new[0], new[-1]]
    for k, uid in ((1, new[0]), (DAY, new[-1])):
        user = world.user(int(uid))
        assert day_start(k) <= user.created < day_start(k + 1)
        assert np.all(user.library.created >= user.created) and np.all(user.library.updated < day_start(DAY + 1))
    truths = [t.user_id for t in ground_truth(60, SEED, day=2, growth=0.05)]
    small = Population(60, SEED, day=2, growth=0.05)
    assert truths == small.user_ids.tolist() and truths[-6:] == small.new_user_ids().tolist()
    assert [t.user_id for t in ground_truth(USERS, SEED, [int(new[0])], day=DAY)] == [new[0]]
    assert list(ground_truth(USERS, SEED, [int(new[0])])) == []


def test_deleted_entries_are_gone_everywhere(world: Population, day0: Population, changed_users: list[int],
                                             make_api, world_app) -> None:
    api = make_api(world_app)
    gone_total, shown = 0, 0
    for uid in changed_users:
        old, lib = day0.user(uid).library, world.user(uid).library
        gone = old.ids[~np.isin(old.ids, lib.ids) & ~old.private]
        gone_total += len(gone)
        if len(gone) and shown < 3:
            shown += 1
            docs = api.crawl(f"/library-entries?filter[userId]={uid}&page[limit]=500")
            served = [int(e["id"]) for d in docs for e in d["data"]]
            truth = user_truth(world, uid)
            assert truth is not None and served == [e.id for e in truth.entries] == lib.ids[~lib.private].tolist()
            assert not set(gone.tolist()) & set(served)
            assert api.get(f"/library-entries/{gone[0]}").status_code == 404
            since = api.json(f"/library-entries?filter[userId]={uid}&filter[since]={T0}&page[limit]=500")
            assert since["meta"]["count"] == int(((lib.updated >= NOW) & ~lib.private).sum()) > 0
    assert shown == 3 and world.deleted_since(1) == gone_total
    before = Population(USERS, SEED, day=DAY - 1, cache_size=64)
    last = sum(int((~np.isin(before.user(u).library.ids, world.user(u).library.ids)
                    & ~before.user(u).library.private).sum()) for u in world.touched_ids().tolist() if before.exists(u))
    assert world.deleted_since(DAY) == last < gone_total


def test_changed_since_counts_what_a_delta_serves(world: Population) -> None:
    for since in (NOW, day_start(2) + 3600.5, day_start(DAY + 1)):
        expected = sum(int(((world.user(u).library.updated >= since) & ~world.user(u).library.private).sum())
                       for u in world.touched_ids().tolist())
        assert world.changed_since(since) == expected
    assert world.changed_since(day_start(DAY + 1)) == 0
    with pytest.raises(ValueError):
        world.changed_since(NOW - 1)


def test_bad_days_churn_and_growth_are_config_errors() -> None:
    for kwargs in ({"day": -1}, {"day": 10**6}, {"churn": 1.5}, {"growth": -0.1}, {"churn": float("nan")}):
        with pytest.raises(ConfigError):
            Population(10, 7, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        in_process_transport(10, 7, -1)
    assert in_process_transport(10, 7, 1, churn=0.5, growth=0.5) is not None


@pytest.mark.parametrize(("args", "named"), [
    (["emulator", "--day", "-1"], "--day"), (["emulator", "--day", "100000"], "--day"),
    (["emulator", "--churn", "1.5"], "--churn"), (["emulator", "--growth", "-0.5"], "--growth"),
    (["emulator", "--churn", "nan"], "--churn"), (["emulator", "truth", "--day", "-2"], "--day"),
    (["emulator", "truth", "--growth", "2"], "--growth"), (["emulator", "--day", "soon"], "--day"),
])
def test_a_bad_day_churn_or_growth_is_one_line(args: list[str], named: str) -> None:
    from kitsu_ingest.cli import main

    result = CliRunner().invoke(main, [*args, "--users", "5"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and named in lines[0]


def test_truth_cli_exports_a_later_day() -> None:
    from kitsu_ingest.cli import main

    result = CliRunner().invoke(main, ["emulator", "truth", "--users", "30", "--day", "2", "--growth", "0.1"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 30 + 2 * 3
