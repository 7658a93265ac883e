"""Endpoints, error bodies, pagination links, filters, sparse fieldsets and visibility rules."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from kitsu_ingest.emulator import HEAVY_USER, EmulatorConfig, Population, create_app

BASE = "http://kitsu.test/api/edge"


def _offset(link: str) -> int:
    return int(dict(parse_qsl(urlsplit(link).query))["page[offset]"])


def _query(link: str) -> str:
    return urlsplit(link).query


def test_users_listing_count_sorting_and_links(api, population: Population) -> None:
    doc = api.json("/users?page[limit]=1")
    assert doc["meta"] == {"count": len(population)}
    doc = api.json("/users?page%5Blimit%5D=20&page%5Boffset%5D=40")
    ids = [int(u["id"]) for u in doc["data"]]
    assert ids == population.user_ids[40:60].tolist()
    assert list(doc["links"]) == ["first", "prev", "next", "last"]
    assert _offset(doc["links"]["prev"]) == 20 and _offset(doc["links"]["next"]) == 60
    assert _offset(doc["links"]["last"]) == len(population) - 20
    assert doc["links"]["first"] == f"{BASE}/users?page%5Blimit%5D=20&page%5Boffset%5D=0"
    tail = api.json(doc["links"]["last"])
    assert "next" not in tail["links"] and int(tail["data"][-1]["id"]) == HEAVY_USER


def test_default_limit_and_first_page_links(api) -> None:
    doc = api.json("/users")
    assert len(doc["data"]) == 10 and "prev" not in doc["links"]
    assert _query(doc["links"]["next"]) == "page%5Blimit%5D=10&page%5Boffset%5D=10"


@pytest.mark.parametrize(("path", "maximum"), [
    ("/users?page[limit]=21", 20), ("/favorites?filter[userId]=2&page[limit]=21", 20),
    ("/anime?page[limit]=25", 20), ("/library-entries?filter[userId]=2&page[limit]=501", 500),
    ("/users/70211/library-entries?page[limit]=1000", 500),
])
def test_page_limit_maximum(api, path: str, maximum: int) -> None:
    response = api.get(path)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"title": "Invalid page value",
                                           "detail": f"Limit exceeds maximum page size of {maximum}.",
                                           "code": "118", "status": "400"}]}


def test_deleted_user_is_404_with_kitsu_body(api, population: Population) -> None:
    gap = next(i for i in range(1, 100) if not population.exists(i))
    response = api.get(f"/users/{gap}")
    assert response.status_code == 404
    assert response.json() == {"errors": [{
        "title": "Record not found", "detail": f"The record identified by {gap} could not be found.",
        "code": "404", "status": "404"}]}
    assert api.get(f"/users/{gap}/library-entries").status_code == 404


def test_user_document(api, population: Population) -> None:
    doc = api.json(f"/users/{HEAVY_USER}")
    user = population.user(HEAVY_USER)
    attrs = doc["data"]["attributes"]
    assert doc["data"]["id"] == str(HEAVY_USER) and doc["data"]["type"] == "users"
    assert attrs["ratingsCount"] == user.counters["ratingsCount"] and attrs["name"] == user.name
    rel = doc["data"]["relationships"]["libraryEntries"]["links"]
    assert rel["related"] == f"{BASE}/users/{HEAVY_USER}/library-entries"


def test_user_filters_and_mangled_brackets(api, population: Population) -> None:
    user = population.user(HEAVY_USER)
    named = api.json(f"/users?filter[name]={user.name}")
    assert HEAVY_USER in [int(u["id"]) for u in named["data"]]
    assert all(u["attributes"]["name"] == user.name for u in named["data"])
    mangled = api.json(f"/users?filter%255Bname%255D={user.name}")
    assert mangled["meta"]["count"] == len(population)
    assert api.get("/users?filter[nope]=1").status_code == 400


def test_library_needs_a_filter(api) -> None:
    response = api.get("/library-entries?page[limit]=5")
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "No filter provided"


def test_library_page_with_included_anime(api, population: Population, sample_users) -> None:
    uid = sample_users["medium"]
    user = population.user(uid)
    doc = api.json(f"/library-entries?filter[userId]={uid}&filter[kind]=anime&include=anime&page[limit]=10")
    visible = (~user.library.private).sum()
    assert doc["meta"]["count"] == visible and len(doc["data"]) == min(10, visible)
    linked = [e["relationships"]["anime"]["data"]["id"] for e in doc["data"]]
    assert linked == [str(population.catalogue.ids[user.library.anime[i]]) for i in range(len(linked))]
    assert sorted(a["id"] for a in doc["included"]) == sorted(set(linked))
    assert sum(doc["meta"]["statusCounts"].values()) == visible
    assert set(doc["meta"]["statusCounts"]) <= {"current", "planned", "completed", "onHold", "dropped"}
    assert _offset(doc["links"]["last"]) == max(visible - 10, 0)
    assert _query(doc["links"]["first"]) == (
        f"filter%5Bkind%5D=anime&filter%5BuserId%5D={uid}&include=anime&page%5Blimit%5D=10&page%5Boffset%5D=0")


def test_library_without_include_has_link_only_relationships(api, sample_users) -> None:
    doc = api.json(f"/users/{sample_users['medium']}/library-entries?page[limit]=3")
    rel = doc["data"][0]["relationships"]["anime"]
    assert set(rel) == {"links"} and "included" not in doc
    assert doc["links"]["first"].startswith(f"{BASE}/users/{sample_users['medium']}/library-entries?")


def test_last_link_is_not_page_aligned(api) -> None:
    doc = api.json(f"/library-entries?filter[userId]={HEAVY_USER}&page[limit]=7&page[offset]=14")
    count = doc["meta"]["count"]
    assert _offset(doc["links"]["last"]) == count - 7
    assert _offset(doc["links"]["prev"]) == 7 and _offset(doc["links"]["next"]) == 21
    beyond = api.json(f"/library-entries?filter[userId]={HEAVY_USER}&page[limit]=7&page[offset]={count + 5}")
    assert beyond["data"] == [] and "next" not in beyond["links"]


def test_status_kind_since_and_anime_filters(api, population: Population) -> None:
    user = population.user(HEAVY_USER)
    base = f"/library-entries?filter[userId]={HEAVY_USER}&page[limit]=500"
    full = api.json(base)
    on_hold = api.json(base + "&filter[status]=on_hold")
    assert all(e["attributes"]["status"] == "on_hold" for e in on_hold["data"])
    assert on_hold["meta"]["count"] == full["meta"]["statusCounts"].get("onHold", 0)
    assert api.json(base + "&filter[status]=onHold")["meta"]["count"] == on_hold["meta"]["count"]
    both = api.json(base + "&filter[status]=completed,dropped")["meta"]["count"]
    sc = full["meta"]["statusCounts"]
    assert both == sc.get("completed", 0) + sc.get("dropped", 0)
    assert api.json(base + "&filter[kind]=manga")["meta"]["count"] == 0
    stamps = sorted(e["attributes"]["updatedAt"] for e in full["data"])
    since = stamps[len(stamps) // 2]
    recent = api.json(base + f"&filter[since]={since}")
    assert recent["meta"]["count"] > 0
    assert all(e["attributes"]["updatedAt"] >= since for e in recent["data"])
    anime_id = int(population.catalogue.ids[user.library.anime[0]])
    one = api.json(base + f"&filter[animeId]={anime_id}")
    assert [e["id"] for e in one["data"]] == [str(user.library.ids[0])]
    assert api.get(base + "&filter[status]=watching").status_code == 400
    assert api.get(base + "&filter[since]=yesterday").status_code == 400


def test_sort(api) -> None:
    doc = api.json(f"/library-entries?filter[userId]={HEAVY_USER}&sort=-updatedAt&page[limit]=50")
    stamps = [e["attributes"]["updatedAt"] for e in doc["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert "sort=-updatedAt" in doc["links"]["next"]
    assert api.get(f"/library-entries?filter[userId]={HEAVY_USER}&sort=bogus").status_code == 400


def test_sparse_fieldsets(api, sample_users) -> None:
    uid = sample_users["medium"]
    path = (f"/library-entries?filter[userId]={uid}&include=anime&page[limit]=5"
            "&fields[libraryEntries]=status,progress&fields[anime]=canonicalTitle,subtype")
    doc = api.json(path)
    entry = doc["data"][0]
    assert set(entry["attributes"]) == {"status", "progress"}
    assert "anime" not in entry.get("relationships", {})
    assert set(doc["included"][0]["attributes"]) == {"canonicalTitle", "subtype"}
    doc = api.json(path.replace("status,progress", "status,progress,anime"))
    assert doc["data"][0]["relationships"]["anime"]["data"]["type"] == "anime"
    assert api.get(path.replace("status,progress", "status,bogus")).status_code == 400


def test_nsfw_entries(api, population: Population, sample_users) -> None:
    uid = sample_users["nsfw"]
    user = population.user(uid)
    cat = population.catalogue
    docs = api.crawl(f"/library-entries?filter[userId]={uid}&include=anime&page[limit]=500")
    entries = [e for d in docs for e in d["data"]]
    included = {a["id"] for d in docs for a in d.get("included", [])}
    nulls = [e for e in entries if e["relationships"]["anime"]["data"] is None]
    hidden = {str(cat.ids[a]) for a in user.library.anime[cat.nsfw[user.library.anime]]}
    assert nulls and not hidden & included
    related = api.json(nulls[0]["relationships"]["anime"]["links"]["related"])
    assert related["data"]["attributes"]["nsfw"] is True
    response = api.get(f"/library-entries?filter[userId]={uid}&include=anime,anime.categories&page[limit]=500")
    assert response.status_code == 500


def test_private_entries_are_absent(api, population: Population, sample_users) -> None:
    uid = sample_users["private"]
    lib = population.user(uid).library
    doc = api.json(f"/library-entries?filter[userId]={uid}&page[limit]=500")
    ids = {int(e["id"]) for e in doc["data"]}
    assert doc["meta"]["count"] == (~lib.private).sum()
    assert not ids & set(lib.ids[lib.private].tolist())
    assert all(e["attributes"]["private"] is False for e in doc["data"])
    assert api.get(f"/library-entries/{lib.ids[lib.private][0]}").status_code == 404
    assert api.json(f"/library-entries/{lib.ids[~lib.private][0]}")["data"]["type"] == "libraryEntries"


def test_favorites(api, population: Population, sample_users) -> None:
    uid = sample_users["favs"]
    user = population.user(uid)
    docs = api.crawl(f"/favorites?filter[userId]={uid}&filter[itemType]=Anime&include=item&page[limit]=20")
    favs = [f for d in docs for f in d["data"]]
    anime = [f for f in user.favorites if f.item_type == "Anime"]
    assert [f["attributes"]["favRank"] for f in favs] == list(range(len(anime)))
    assert [f["relationships"]["item"]["data"] for f in favs] == [
        {"type": "anime", "id": str(f.item_id)} for f in anime]
    included = [a for d in docs for a in d["included"]]
    assert {a["type"] for a in included} == {"anime"} and len(included) == len(anime)
    everything = api.json(f"/favorites?filter[userId]={uid}&page[limit]=20")
    assert everything["meta"]["count"] == len(user.favorites) == user.counters["favoritesCount"]
    assert api.get(f"/favorites?filter[userId]={uid}&filter[itemType]=Book").status_code == 400


def test_anime_endpoints(api, population: Population) -> None:
    doc = api.json("/anime/12?include=categories")
    assert doc["data"]["attributes"]["canonicalTitle"] == "One Piece"
    cat_ids = [c["id"] for c in doc["data"]["relationships"]["categories"]["data"]]
    assert [c["id"] for c in doc["included"]] == cat_ids and doc["included"][0]["type"] == "categories"
    listing = api.json("/anime?filter[id]=1,12,999999&include=categories")
    assert [a["id"] for a in listing["data"]] == ["1", "12"] and listing["meta"]["count"] == 2
    assert api.get("/anime/999999").status_code == 404
    assert api.get("/anime/12?include=bogus").status_code == 400
    assert api.json("/anime?page[limit]=1")["meta"]["count"] == len(population.catalogue)


def test_links_echo_the_host_called(app, make_api) -> None:
    other = make_api(app, "http://127.0.0.1:9999/api/edge")
    doc = other.json(f"/users/{HEAVY_USER}/library-entries?page[limit]=5")
    assert doc["links"]["next"].startswith("http://127.0.0.1:9999/api/edge/users/")
    assert doc["data"][0]["links"]["self"].startswith("http://127.0.0.1:9999/api/edge/library-entries/")


def test_identical_apps_serve_identical_bytes(make_api) -> None:
    Api = make_api
    paths = ["/users?page[limit]=20&page[offset]=20", f"/users/{HEAVY_USER}/library-entries?include=anime",
             f"/favorites?filter[userId]={HEAVY_USER}&include=item"]
    first = [r.content for r in Api(create_app(EmulatorConfig(users=200, seed=3))).get_many(paths)]
    second = [r.content for r in Api(create_app(EmulatorConfig(users=200, seed=3))).get_many(paths)]
    assert first == second


def test_several_users_at_once_with_owner_linkage(api, population: Population, sample_users) -> None:
    uids = sorted({sample_users["medium"], sample_users["favs"]})
    ids = ",".join(map(str, uids))
    docs = api.crawl(f"/library-entries?filter[userId]={ids}&include=anime,user&fields[users]=name&page[limit]=500")
    owners = [int(e["relationships"]["user"]["data"]["id"]) for d in docs for e in d["data"]]
    visible = {u: int((~population.user(u).library.private).sum()) for u in uids}
    assert docs[0]["meta"]["count"] == sum(visible.values()) == len(owners)
    assert {u: owners.count(u) for u in uids} == visible
    users = [r for r in docs[0]["included"] if r["type"] == "users"]
    assert {int(u["id"]) for u in users} <= set(uids) and all(set(u["attributes"]) == {"name"} for u in users)
    favs = api.json(f"/favorites?filter[userId]={ids}&include=item,user&page[limit]=20")
    assert all(int(f["relationships"]["user"]["data"]["id"]) in uids for f in favs["data"])
