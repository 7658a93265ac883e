"""JSON:API resource objects for users, library entries, favourites, anime and categories (pure).

Attribute names, order and types follow the recorded responses in `shared/data/kitsu-api-samples/`.
`base` is the API root that was called (e.g. `http://127.0.0.1:8765/api/edge`): every link echoes it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import orjson

from kitsu_ingest.emulator.catalogue import CATEGORIES, Catalogue
from kitsu_ingest.emulator.model import STATUSES, Favorite, Library, User

__all__ = [
    "ANIME_FIELDS", "ENTRY_FIELDS", "FAVORITE_FIELDS", "USER_FIELDS", "AnimeRenderer", "UserRenderer", "category",
    "entries", "favorite", "iso", "isos", "item", "user",
]

_USER_RELS = ("waifu", "pinnedPost", "followers", "following", "blocks", "linkedAccounts",
              "profileLinks", "userRoles", "libraryEntries", "favorites", "reviews", "stats",
              "notificationSettings", "oneSignalPlayers", "categoryFavorites", "quotes")
_ENTRY_RELS = ("user", "anime", "manga", "drama", "review", "mediaReaction", "media", "unit", "nextUnit")
_ANIME_RELS = ("genres", "categories", "castings", "installments", "mappings", "reviews",
               "mediaRelationships", "characters", "staff", "productions", "quotes", "episodes",
               "streamingLinks", "animeProductions", "animeCharacters", "animeStaff")
_FAV_RELS = ("user", "item")
_USER_ATTRS = ("createdAt", "updatedAt", "name", "pastNames", "slug", "about", "location",
               "waifuOrHusbando", "followersCount", "followingCount", "lifeSpentOnAnime", "birthday",
               "gender", "commentsCount", "favoritesCount", "likesGivenCount", "reviewsCount",
               "likesReceivedCount", "postsCount", "ratingsCount", "mediaReactionsCount", "proExpiresAt",
               "title", "profileCompleted", "feedCompleted", "website", "proTier", "avatar",
               "coverImage", "status", "subscribedToNewsletter")
_ENTRY_ATTRS = ("createdAt", "updatedAt", "status", "progress", "volumesOwned", "reconsuming",
                "reconsumeCount", "notes", "private", "reactionSkipped", "progressedAt", "startedAt",
                "finishedAt", "rating", "ratingTwenty")
USER_FIELDS = frozenset(_USER_ATTRS + _USER_RELS)
ENTRY_FIELDS = frozenset(_ENTRY_ATTRS + _ENTRY_RELS)
FAVORITE_FIELDS = frozenset(("createdAt", "updatedAt", "favRank", *_FAV_RELS))
_ANIME_ATTRS = ("createdAt", "updatedAt", "slug", "synopsis", "coverImageTopOffset", "titles",
                "canonicalTitle", "abbreviatedTitles", "averageRating", "ratingFrequencies", "userCount",
                "favoritesCount", "startDate", "endDate", "nextRelease", "popularityRank", "ratingRank",
                "ageRating", "ageRatingGuide", "subtype", "status", "tba", "posterImage", "coverImage",
                "episodeCount", "episodeLength", "totalLength", "youtubeVideoId", "showType", "nsfw")
ANIME_FIELDS = frozenset(_ANIME_ATTRS + _ANIME_RELS)
_DIMS = {"tiny": [40, 40], "small": [64, 64], "medium": [100, 100], "large": [200, 200]}


def iso(ts: float) -> str:
    """Epoch seconds -> Kitsu's timestamp format, e.g. `2018-10-15T01:26:50.783Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def isos(ts: np.ndarray) -> list[str | None]:
    """Vectorised `iso` with NaN -> None."""
    out = np.datetime_as_string(np.rint(np.nan_to_num(ts) * 1000).astype("datetime64[ms]"), unit="ms")
    return [None if bad else s + "Z" for s, bad in zip(out.tolist(), np.isnan(ts).tolist())]


def _dash(name: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in name)


def _rels(base: str, path: str, names: Iterable[str], keep: set[str] | None) -> dict[str, Any]:
    return {name: {"links": {"self": f"{base}/{path}/relationships/{_dash(name)}",
                             "related": f"{base}/{path}/{_dash(name)}"}}
            for name in names if keep is None or name in keep}


@lru_cache(maxsize=256)
def _rels_template(base: str, kind: str, names: tuple[str, ...], data_rels: tuple[str, ...]) -> str:
    """Relationships JSON with `{ID}` for the resource id and `"{DATA:rel}"` in each `data_rels`."""
    rels = _rels(base, kind + "/{ID}", names, None)
    for rel in data_rels:
        if rel in rels:
            rels[rel]["data"] = f"{{DATA:{rel}}}"
    return orjson.dumps(rels).decode()


def _fast_rels(base: str, kind: str, names: tuple[str, ...], keep: set[str] | None, ident: int,
               data: dict[str, str] | None = None) -> orjson.Fragment:
    """Serialised relationships (links only, plus `data` JSON text per included relationship),
    built from a cached template."""
    if keep is not None:
        names = tuple(n for n in names if n in keep)
    text = _rels_template(base, kind, names, tuple(data or ())).replace("{ID}", str(ident))
    for rel, value in (data or {}).items():
        text = text.replace(f'"{{DATA:{rel}}}"', value)
    return orjson.Fragment(text)


def _only(attrs: dict[str, Any], keep: set[str] | None) -> dict[str, Any]:
    return attrs if keep is None else {k: v for k, v in attrs.items() if k in keep}


def _image(base: str, kind: str, ident: int, sizes: Sequence[str]) -> dict[str, Any]:
    host = base.split("/api/")[0]
    out: dict[str, Any] = {s: f"{host}/media/{kind}/{ident}/{s}.jpg" for s in (*sizes, "original")}
    out["meta"] = {"dimensions": {s: {"width": _DIMS[s][0], "height": _DIMS[s][1]} for s in sizes}}
    return out


def user(u: User, base: str, keep: set[str] | None = None) -> dict[str, Any]:
    """A `users` resource object."""
    has_avatar = u.id % 3 != 0
    attrs: dict[str, Any] = {
        "createdAt": iso(u.created), "updatedAt": iso(u.updated), "name": u.name, "pastNames": [],
        "slug": u.slug, **{k: u.profile[k] for k in ("about", "location", "waifuOrHusbando")},
        "followersCount": u.counters["followersCount"], "followingCount": u.counters["followingCount"],
        "lifeSpentOnAnime": u.counters["lifeSpentOnAnime"], "birthday": u.profile["birthday"],
        "gender": u.profile["gender"],
        **{k: u.counters[k] for k in ("commentsCount", "favoritesCount", "likesGivenCount",
                                      "reviewsCount", "likesReceivedCount", "postsCount",
                                      "ratingsCount", "mediaReactionsCount")},
        "proExpiresAt": None, "title": None, "profileCompleted": has_avatar,
        "feedCompleted": has_avatar, "website": None, "proTier": None,
        "avatar": _image(base, "users/avatars", u.id, ("tiny", "small", "medium", "large"))
        if has_avatar else None,
        "coverImage": None, "status": "registered", "subscribedToNewsletter": u.id % 2 == 0,
    }
    return {"id": str(u.id), "type": "users", "links": {"self": f"{base}/users/{u.id}"},
            "attributes": _only(attrs, keep),
            "relationships": _fast_rels(base, "users", _USER_RELS, keep, u.id)}


def entries(lib: Library, owners: Sequence[int], base: str, catalogue: Catalogue, keep: set[str] | None,
            linkage: bool, user_linkage: bool = False) -> list[dict[str, Any]]:
    """`libraryEntries` resource objects for library rows (columns) and their owners' ids.

    With `linkage` (include=anime) `relationships.anime.data` is `{type, id}`, or null for NSFW anime;
    with `user_linkage` (include=user) `relationships.user.data` is the owner's `{type, id}`.
    """
    created, updated = isos(lib.created), isos(lib.updated)
    progressed, started = isos(lib.progressed), isos(lib.started)
    finished = isos(lib.finished)
    anime_ids = catalogue.ids[lib.anime].tolist()
    nsfw = catalogue.nsfw[lib.anime].tolist()
    status, progress = lib.status.tolist(), lib.progress.tolist()
    ratings, reconsumed = lib.rating.tolist(), lib.reconsume_count.tolist()
    out = []
    for j, eid in enumerate(lib.ids.tolist()):
        rating = ratings[j]
        attrs = {
            "createdAt": created[j], "updatedAt": updated[j], "status": STATUSES[status[j]],
            "progress": progress[j], "volumesOwned": 0, "reconsuming": False,
            "reconsumeCount": reconsumed[j], "notes": None, "private": False,
            "reactionSkipped": "unskipped", "progressedAt": progressed[j], "startedAt": started[j],
            "finishedAt": finished[j], "rating": f"{rating / 4:.1f}" if rating else "0.0",
            "ratingTwenty": rating or None,
        }
        data = "null" if nsfw[j] else f'{{"type":"anime","id":"{anime_ids[j]}"}}'
        linked = {"anime": data} if linkage else {}
        if user_linkage:
            linked["user"] = f'{{"type":"users","id":"{owners[j]}"}}'
        rels = _fast_rels(base, "library-entries", _ENTRY_RELS, keep, eid, linked)
        out.append({"id": str(eid), "type": "libraryEntries",
                    "links": {"self": f"{base}/library-entries/{eid}"},
                    "attributes": _only(attrs, keep), "relationships": rels})
    return out


def favorite(f: Favorite, base: str, keep: set[str] | None, linkage: bool,
             owner: int | None = None) -> dict[str, Any]:
    """A `favorites` resource object; with `linkage` its polymorphic `item` carries data, and with
    an `owner` (include=user) so does its `user`."""
    stamp = iso(f.created)
    rels = _rels(base, f"favorites/{f.id}", _FAV_RELS, keep)
    if linkage and "item" in rels:
        rels["item"]["data"] = {"type": _ITEM_TYPES[f.item_type], "id": str(f.item_id)}
    if owner is not None and "user" in rels:
        rels["user"]["data"] = {"type": "users", "id": str(owner)}
    return {"id": str(f.id), "type": "favorites", "links": {"self": f"{base}/favorites/{f.id}"},
            "attributes": _only({"createdAt": stamp, "updatedAt": stamp, "favRank": f.rank}, keep),
            "relationships": rels}


_ITEM_TYPES = {"Anime": "anime", "Manga": "manga", "Character": "characters", "Person": "people"}


def item(item_type: str, item_id: int, base: str) -> dict[str, Any]:
    """A minimal synthetic manga, character or person resource (favourites' non-anime items)."""
    type_ = _ITEM_TYPES[item_type]
    name = f"{item_type} {item_id}"
    attrs: dict[str, Any] = ({"canonicalTitle": name, "slug": f"manga-{item_id}", "subtype": "manga"}
                             if type_ == "manga" else {"name": name, "slug": f"{type_}-{item_id}"})
    return {"id": str(item_id), "type": type_, "links": {"self": f"{base}/{type_}/{item_id}"},
            "attributes": attrs}


def category(cat_id: int, base: str, keep: set[str] | None = None) -> dict[str, Any]:
    title = dict(CATEGORIES).get(cat_id, f"Category {cat_id}")
    attrs = {"createdAt": "2017-05-31T06:39:22.090Z", "updatedAt": "2017-05-31T09:01:35.589Z",
             "title": title, "description": f"Stories about {title.lower()}.",
             "totalMediaCount": 100 + cat_id * 37, "slug": title.lower().replace(" ", "-"),
             "nsfw": False, "childCount": 0, "image": None}
    return {"id": str(cat_id), "type": "categories", "links": {"self": f"{base}/categories/{cat_id}"},
            "attributes": _only(attrs, keep),
            "relationships": _rels(base, f"categories/{cat_id}", ("parent", "anime", "drama", "manga"),
                                   None)}


def _frequencies(ratings: int, average: float) -> dict[str, str]:
    """Counts of ratingTwenty 2..20 (as strings, like Kitsu) peaking near the average rating."""
    peak = average / 5
    weights = [1.0 / (1.0 + (k - peak) ** 2) for k in range(2, 21)]
    total = sum(weights)
    return {str(k): str(int(ratings * w / total)) for k, w in zip(range(2, 21), weights)}


class UserRenderer:
    """`users` resource objects, serialised once per (user, host, fieldset) and reused as fragments
    (a delta's pages name the same active users again and again)."""

    def __init__(self, size: int = 65536) -> None:
        self.size = size
        self._cache: OrderedDict[tuple[int, str, frozenset[str] | None], orjson.Fragment] = OrderedDict()

    def resource(self, u: User, base: str, keep: set[str] | None = None) -> orjson.Fragment:
        key = (u.id, base, None if keep is None else frozenset(keep))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = orjson.Fragment(orjson.dumps(user(u, base, keep)))
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return hit


class AnimeRenderer:
    """`anime` resource objects, serialised once per (base, anime, variant) and reused as fragments."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.cat = catalogue
        self._fragment = lru_cache(maxsize=65536)(self._fragment_uncached)

    def resource(self, idx: int, base: str, keep: set[str] | None = None,
                 with_categories: bool = False) -> Any:
        """The resource as a cached `orjson.Fragment` (one per anime, host, fieldset and variant)."""
        return self._fragment(idx, base, None if keep is None else frozenset(keep), with_categories)

    def _fragment_uncached(self, idx: int, base: str, keep: frozenset[str] | None,
                           with_categories: bool) -> orjson.Fragment:
        fields = None if keep is None else set(keep)
        return orjson.Fragment(orjson.dumps(self.build(idx, base, fields, with_categories)))

    def build(self, idx: int, base: str, keep: set[str] | None, with_categories: bool) -> dict[str, Any]:
        c = self.cat
        aid, title, subtype = int(c.ids[idx]), c.titles[idx], c.subtypes[idx]
        eps, length = int(c.episode_count[idx]), int(c.episode_length[idx])
        start = np.datetime64(int(c.start_day[idx]), "D")
        slug = "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")
        attrs = {
            "createdAt": "2013-02-20T16:00:13.609Z", "updatedAt": "2021-11-29T10:00:00.000Z",
            "slug": slug, "synopsis": f"{title}: a {subtype} anime.", "coverImageTopOffset": 0,
            "titles": {"en": title, "en_jp": title, "ja_jp": title}, "canonicalTitle": title,
            "abbreviatedTitles": [], "averageRating": f"{c.average_rating[idx]:.2f}",
            "ratingFrequencies": _frequencies(int(c.user_count[idx]) // 3, float(c.average_rating[idx])),
            "userCount": int(c.user_count[idx]), "favoritesCount": int(c.favorites_count[idx]),
            "startDate": str(start), "endDate": str(start + max(eps // 4, 1) * 28 * (eps > 1)),
            "nextRelease": None, "popularityRank": int(c.popularity_rank[idx]),
            "ratingRank": int(c.rating_rank[idx]),
            "ageRating": "R18" if c.nsfw[idx] else "PG", "ageRatingGuide": "Teens 13 or older",
            "subtype": subtype, "status": "finished", "tba": None,
            "posterImage": _image(base, "anime/poster_images", aid, ("tiny", "small", "medium", "large")),
            "coverImage": None, "episodeCount": eps, "episodeLength": length,
            "totalLength": eps * length, "youtubeVideoId": None, "showType": subtype,
            "nsfw": bool(c.nsfw[idx]),
        }
        rels = _rels(base, f"anime/{aid}", _ANIME_RELS, keep)
        if with_categories and "categories" in rels:
            rels["categories"]["data"] = [{"type": "categories", "id": str(k)} for k in c.categories[idx]]
        return {"id": str(aid), "type": "anime", "links": {"self": f"{base}/anime/{aid}"},
                "attributes": _only(attrs, keep), "relationships": rels}
