"""The emulator's Starlette app: Kitsu's read endpoints under `/api/edge`, behind fault injection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from kitsu_ingest.emulator import documents as doc
from kitsu_ingest.emulator.faults import FaultConfig, FaultMiddleware
from kitsu_ingest.emulator.population import ENTRY_STRIDE, FAVORITE_STRIDE, Population, User
from kitsu_ingest.emulator.query import ApiProblem, Params, links, not_found, parse_params
from kitsu_ingest.emulator.selection import (
    ENTRY_FILTERS,
    FAVORITE_FILTERS,
    select_entries,
    select_favorites,
)

__all__ = ["EmulatorConfig", "create_app"]

PREFIX = "/api/edge"
_JSONAPI = "application/vnd.api+json"
_SERVER_ERROR = ApiProblem(500, "Internal Server Error", "Internal Server Error", "500")


@dataclass(frozen=True)
class EmulatorConfig:
    """How big the population is, its seed, and which faults to inject."""

    users: int = 20_000
    seed: int = 7
    faults: FaultConfig = field(default_factory=FaultConfig)
    cache_size: int = 2048
    """How many generated users to keep in memory (an LRU cache)."""
    day: int = 0
    """The world at the end of this day (0: the frozen world of 2021-11-30; see population.py)."""
    churn: float = 0.01
    """Share of all entries edited per day after day 0."""
    growth: float = 0.001
    """New users per day after day 0, as a share of `users`."""


class _Api:
    """Route handlers over one population."""

    def __init__(self, population: Population) -> None:
        self.pop = population
        self.cat = population.catalogue
        self.anime = doc.AnimeRenderer(self.cat)
        self.owners = doc.UserRenderer()

    # -- users --------------------------------------------------------------------------------

    def users(self, req: Request, params: Params) -> dict[str, Any]:
        params.check_filters(("name", "slug", "query", "id"))
        page = params.paging(20)
        keep = params.fieldset("users", doc.USER_FIELDS)
        ids = self._user_ids(params.filters)
        chosen = [self.pop.user(int(u)) for u in ids[page.offset : page.offset + page.limit]]
        return {"data": [doc.user(u, _base(req), keep) for u in chosen], "meta": {"count": len(ids)},
                "links": links(_url(req), params, page, len(ids))}

    def _user_ids(self, f: dict[str, list[str]]) -> np.ndarray:
        ids = self.pop.user_ids
        if "id" in f:
            wanted = [int(v) for v in f["id"] if v.isdigit()]
            ids = ids[np.isin(ids, wanted)]
        if "slug" in f:
            ids = ids[np.isin(ids, [uid for uid in map(_slug_id, f["slug"]) if uid is not None])]
            ids = np.array([u for u in ids.tolist() if self.pop.user(u).slug in f["slug"]], dtype=np.int64)
        if "name" in f:
            named = [uid for name in f["name"] for uid in self.pop.users_named(name)]
            ids = ids[np.isin(ids, named)]
        if "query" in f:
            ids = ids[np.isin(ids, self.pop.users_matching(",".join(f["query"])))]
        return ids

    def user(self, req: Request, params: Params) -> dict[str, Any]:
        user = self._user(req.path_params["id"])
        return {"data": doc.user(user, _base(req), params.fieldset("users", doc.USER_FIELDS))}

    def _user(self, ident: str) -> User:
        user = self.pop.get(int(ident)) if ident.isdigit() else None
        if user is None:
            raise not_found(ident)
        return user

    # -- library entries ----------------------------------------------------------------------

    def user_entries(self, req: Request, params: Params) -> dict[str, Any]:
        self._user(req.path_params["id"])
        params.filters["userId"] = [req.path_params["id"]]
        return self._entries(req, params, scoped=True)

    def entries(self, req: Request, params: Params) -> dict[str, Any]:
        return self._entries(req, params, scoped=False)

    def _entries(self, req: Request, params: Params, scoped: bool) -> dict[str, Any]:
        if not params.filters:
            raise ApiProblem(400, "Filter not allowed", "No filter provided", "102")
        params.check_filters(ENTRY_FILTERS)
        params.check_include(("anime", "anime.categories", "user"), "libraryEntries")
        page = params.paging(500)
        keep = params.fieldset("libraryEntries", doc.ENTRY_FIELDS)
        anime_keep = params.fieldset("anime", doc.ANIME_FIELDS)
        sel = select_entries(self.pop, params, page)
        base = _base(req)
        linkage, user_linkage = bool(set(params.include) - {"user"}), "user" in params.include
        categories = "anime.categories" in params.include
        idx = sel.entries.anime
        if categories and self.cat.nsfw[idx].any():
            raise _SERVER_ERROR
        owners = [u.id for u in sel.owners]
        out: dict[str, Any] = {"data": doc.entries(sel.entries, owners, base, self.cat, keep, linkage,
                                                   user_linkage)}
        if params.include:
            shown = list(dict.fromkeys(idx[~self.cat.nsfw[idx]].tolist()))
            included = self._anime_included(shown, base, anime_keep, categories) if linkage else []
            if user_linkage:
                user_keep = params.fieldset("users", doc.USER_FIELDS)
                once = {u.id: u for u in sel.owners}  # each owner once, in page order
                included += [self.owners.resource(u, base, user_keep) for u in once.values()]
            out["included"] = included
        if scoped:
            params.filters.pop("userId")
        out["meta"] = {"statusCounts": sel.status_counts, "count": sel.count}
        out["links"] = links(_url(req), params, page, sel.count)
        return out

    def _anime_included(self, idxs: list[int], base: str, keep: set[str] | None,
                        categories: bool) -> list[Any]:
        included = [self.anime.resource(i, base, keep, categories) for i in idxs]
        if categories:
            cats = dict.fromkeys(c for i in idxs for c in self.cat.categories[i])
            included += [doc.category(c, base) for c in cats]
        return included

    def entry(self, req: Request, params: Params) -> dict[str, Any]:
        user, row = self._entry(req.path_params["id"])
        keep = params.fieldset("libraryEntries", doc.ENTRY_FIELDS)
        one = user.library.take(np.array([row]))
        return {"data": doc.entries(one, [user.id], _base(req), self.cat, keep, False)[0]}

    def _entry(self, ident: str) -> tuple[User, int]:
        eid = int(ident) if ident.isdigit() else 0
        user = self.pop.get(eid // ENTRY_STRIDE)
        ids = user.library.ids if user is not None else np.empty(0, dtype=np.int64)
        row = int(np.searchsorted(ids, eid))
        if user is None or row == len(ids) or ids[row] != eid or user.library.private[row]:
            raise not_found(ident)
        return user, row

    def entry_anime(self, req: Request, params: Params) -> dict[str, Any]:
        user, row = self._entry(req.path_params["id"])
        idx = int(user.library.anime[row])
        return {"data": self.anime.resource(idx, _base(req), params.fieldset("anime", doc.ANIME_FIELDS))}

    # -- favourites ---------------------------------------------------------------------------

    def favorites(self, req: Request, params: Params) -> dict[str, Any]:
        params.check_filters(FAVORITE_FILTERS)
        params.check_include(("item", "user"), "favorites")
        page = params.paging(20)
        keep = params.fieldset("favorites", doc.FAVORITE_FIELDS)
        base = _base(req)
        favs = select_favorites(self.pop, params)
        window = favs[page.offset : page.offset + page.limit]
        owners = "user" in params.include
        out: dict[str, Any] = {"data": [doc.favorite(f, base, keep, "item" in params.include,
                                                     u.id if owners else None)
                                        for u, f in window]}
        if params.include:
            included: list[Any] = []
            if "item" in params.include:
                for kind, item_id in dict.fromkeys((f.item_type, f.item_id) for _, f in window):
                    included.append(self.anime.resource(self.cat.index[item_id], base)
                                    if kind == "Anime" else doc.item(kind, item_id, base))
            if owners:
                user_keep = params.fieldset("users", doc.USER_FIELDS)
                included += [doc.user(u, base, user_keep) for u in dict.fromkeys(u for u, _ in window)]
            out["included"] = included
        out["meta"] = {"count": len(favs)}
        out["links"] = links(_url(req), params, page, len(favs))
        return out

    def favorite(self, req: Request, params: Params) -> dict[str, Any]:
        ident = req.path_params["id"]
        fid = int(ident) if ident.isdigit() else 0
        user = self.pop.get(fid // FAVORITE_STRIDE)
        for fav in user.favorites if user else ():
            if fav.id == fid:
                return {"data": doc.favorite(fav, _base(req), None, False)}
        raise not_found(ident)

    # -- anime --------------------------------------------------------------------------------

    def anime_list(self, req: Request, params: Params) -> dict[str, Any]:
        params.check_filters(("id", "subtype", "slug"))
        params.check_include(("categories",), "anime")
        page = params.paging(20)
        keep = params.fieldset("anime", doc.ANIME_FIELDS)
        f = params.filters
        idx = np.arange(len(self.cat))
        if "id" in f:
            idx = np.flatnonzero(np.isin(self.cat.ids, [int(v) for v in f["id"] if v.isdigit()]))
        if "subtype" in f:
            idx = idx[np.isin(np.array(self.cat.subtypes)[idx], f["subtype"])]
        if "slug" in f:
            idx = np.array([i for i in idx.tolist() if self.anime.build(i, "", None, False)["attributes"]
                            ["slug"] in f["slug"]], dtype=np.int64)
        window = idx[page.offset : page.offset + page.limit].tolist()
        cats = bool(params.include)
        base = _base(req)
        out: dict[str, Any] = {"data": [self.anime.resource(i, base, keep, cats) for i in window]}
        if cats:
            out["included"] = self._anime_included(window, base, None, True)[len(window):]
        out["meta"] = {"count": len(idx)}
        out["links"] = links(_url(req), params, page, len(idx))
        return out

    def anime_one(self, req: Request, params: Params) -> dict[str, Any]:
        params.check_include(("categories",), "anime")
        ident = req.path_params["id"]
        idx = self.cat.find(ident) if ident.isdigit() else None
        if idx is None:
            raise not_found(ident)
        cats = bool(params.include)
        base = _base(req)
        out: dict[str, Any] = {"data": self.anime.resource(
            idx, base, params.fieldset("anime", doc.ANIME_FIELDS), cats)}
        if cats:
            out["included"] = [doc.category(c, base) for c in self.cat.categories[idx]]
        return out


def _base(req: Request) -> str:
    return f"{req.url.scheme}://{req.url.netloc}{PREFIX}"


def _url(req: Request) -> str:
    return f"{req.url.scheme}://{req.url.netloc}{req.url.path}"


def _slug_id(slug: str) -> int | None:
    tail = slug.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


Handler = Callable[[Request, Params], dict[str, Any]]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            params = parse_params(request.url.query)
            body, status = handler(request, params), 200
        except ApiProblem as problem:
            body, status = problem.body, problem.status
        return Response(orjson.dumps(body), status_code=status, media_type=_JSONAPI)

    return endpoint


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator as an ASGI app (use with uvicorn or `httpx.ASGITransport`)."""
    config = config or EmulatorConfig()
    api = _Api(Population(config.users, config.seed, cache_size=config.cache_size, day=config.day,
                          churn=config.churn, growth=config.growth))
    routes = [
        Route("/users", _endpoint(api.users)),
        Route("/users/{id}", _endpoint(api.user)),
        Route("/users/{id}/library-entries", _endpoint(api.user_entries)),
        Route("/library-entries", _endpoint(api.entries)),
        Route("/library-entries/{id}", _endpoint(api.entry)),
        Route("/library-entries/{id}/anime", _endpoint(api.entry_anime)),
        Route("/favorites", _endpoint(api.favorites)),
        Route("/favorites/{id}", _endpoint(api.favorite)),
        Route("/anime", _endpoint(api.anime_list)),
        Route("/anime/{id}", _endpoint(api.anime_one)),
    ]
    app = Starlette(routes=[Mount(PREFIX, routes=routes)],
                    middleware=[Middleware(FaultMiddleware, faults=config.faults, seed=config.seed)])
    app.state.population = api.pop
    app.state.config = config
    return app
