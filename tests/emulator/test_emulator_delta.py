"""The site-wide delta (`filter[since]` >= NOW, no `filter[userId]`): the index serves what the scan does."""

from __future__ import annotations

import itertools
from functools import partial
from urllib.parse import quote

import numpy as np
import pytest

from kitsu_ingest.emulator import NOW, EmulatorConfig, Population, create_app, day_start
from kitsu_ingest.emulator import app as app_module
from kitsu_ingest.emulator.documents import iso
from kitsu_ingest.emulator.query import Page, parse_params
from kitsu_ingest.emulator.selection import select_entries

USERS, SEED = 1200, 7
SORTS = ["", "updatedAt", "-updatedAt", "id", "-progress,updatedAt", "createdAt"]
FILTERS = ["", "&filter[kind]=anime", "&filter[status]=current,completed", "&filter[kind]=manga",
           "&filter[status]=planned&filter[kind]=anime", "&filter[animeId]={anime}", "&filter[status]="]
DELTA = "/library-entries?filter[since]={since}&filter[kind]=anime&sort=updatedAt&include=anime,user&page[limit]=500"


def _since(ts: float) -> str:
    return quote(iso(ts))


@pytest.fixture(scope="module", params=[1, 3], ids=["day1", "day3"])
def world(request) -> Population:
    return Population(USERS, SEED, day=request.param, cache_size=4000)


@pytest.fixture(scope="module")
def world_app() -> object:
    return create_app(EmulatorConfig(users=USERS, seed=SEED, day=3, cache_size=4000))


def _rows(pop: Population, query: str, limit: int, offset: int, use_index: bool) -> tuple:
    sel = select_entries(pop, parse_params(query), Page(limit, offset), use_index=use_index)
    columns = tuple(np.nan_to_num(c, nan=-1.0).tolist() for c in sel.entries.columns())
    return sel.count, sel.status_counts, [u.id for u in sel.owners], columns


def test_the_index_serves_what_the_scan_does(world: Population) -> None:
    popular = ",".join(str(a) for a in world.catalogue.ids[np.argsort(-world.catalogue.user_count)[:40]])
    sinces = [NOW, NOW + 43_200.5, day_start(world.day) + 20 * 3600, day_start(world.day + 1)]
    windows = [(500, 0), (37, 90), (10, 2000)]
    combos = [(sinces[0], sort, f, windows[0]) for sort, f in itertools.product(SORTS, FILTERS)]
    combos += [(s, sort, "", w) for s, sort, w in itertools.product(sinces, SORTS[:4], windows)]
    served = 0
    for since, sort, extra, (limit, offset) in combos:
        query = f"filter[since]={_since(since)}&sort={sort}" + extra.format(anime=popular)
        fast, scan = _rows(world, query, limit, offset, True), _rows(world, query, limit, offset, False)
        assert fast == scan, query
        served += len(fast[2])
    assert served > 5000 and world.delta().changed_since(NOW) > 1000


def test_pages_come_from_the_index_not_from_the_users(world_app, make_api, monkeypatch) -> None:
    api = make_api(world_app)
    pop = world_app.state.population
    pop.delta()

    def no_generation(uid: int) -> None:
        raise AssertionError(f"user {uid} generated for a delta page")

    monkeypatch.setattr(pop, "user", no_generation)
    doc = api.json(DELTA.format(since=_since(NOW)) + "&page[offset]=1000")
    assert len(doc["data"]) == 500 and doc["meta"]["count"] == pop.changed_since(NOW)


def test_the_app_answers_the_same_bytes_with_or_without_the_index(world_app, make_api, monkeypatch) -> None:
    api = make_api(world_app)
    paths = [DELTA.format(since=_since(NOW)) + "&page[offset]=1500",
             DELTA.format(since=_since(day_start(2) + 7 * 3600)).replace("sort=updatedAt", "sort=-updatedAt"),
             "/library-entries?filter[since]=" + _since(day_start(3)) + "&filter[status]=completed&page[limit]=20"
             "&page[offset]=40&include=user&fields[users]=name"]
    fast = [r.content for r in api.get_many(paths)]
    again = [r.content for r in make_api(create_app(EmulatorConfig(users=USERS, seed=SEED, day=3))).get_many(paths)]
    monkeypatch.setattr(app_module, "select_entries", partial(select_entries, use_index=False))
    scan = [r.content for r in api.get_many(paths)]
    assert fast == scan == again


def test_a_delta_paged_by_time_sees_every_visible_change_and_nothing_private(world_app, make_api) -> None:
    api = make_api(world_app)
    pop: Population = world_app.state.population
    cat = pop.catalogue
    seen: dict[int, dict] = {}
    since, first_count, pages = _since(NOW), None, 0
    while True:
        doc = api.json(DELTA.format(since=since))
        first_count = first_count if first_count is not None else doc["meta"]["count"]
        pages += 1
        included = {(r["type"], r["id"]) for r in doc["included"]}
        users = [r["id"] for r in doc["included"] if r["type"] == "users"]
        assert len(users) == len(set(users))
        for entry in doc["data"]:
            anime = entry["relationships"]["anime"]["data"]
            owner = entry["relationships"]["user"]["data"]["id"]
            assert ("users", owner) in included
            assert anime is None or ("anime", anime["id"]) in included
            seen[int(entry["id"])] = entry
        if "next" not in doc["links"]:
            break
        since = quote(doc["data"][-1]["attributes"]["updatedAt"])
    changed = {}
    private = set()
    for uid in pop.touched_ids().tolist():
        lib = pop.user(uid).library
        recent = lib.updated >= NOW
        changed.update((int(e), bool(cat.nsfw[a])) for e, a in zip(lib.ids[recent & ~lib.private],
                                                                   lib.anime[recent & ~lib.private]))
        private.update(lib.ids[lib.private].tolist())
    assert pages > 3 and first_count == len(changed) == pop.changed_since(NOW)
    assert set(seen) == set(changed) and not private & set(seen)
    nsfw = [e for e, hidden in changed.items() if hidden]
    assert nsfw and all(seen[e]["relationships"]["anime"]["data"] is None for e in nsfw)
    assert all(seen[e]["attributes"]["private"] is False for e in seen)
