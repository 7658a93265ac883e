"""The dashboard's routes on the API's app (none of them in the OpenAPI document):

    GET /                                   home: the store, the served model, the segments, searches
    GET /dashboard/store                    counts, entries by status, latest crawl runs, a crawl in progress
    GET /dashboard/models[/{version}]       the registry's versions, a model card, figures, search plots
    GET /dashboard/models/{version}/plots/{history|effects|heatmap}.png
    GET /dashboard/segments                 tiers, the k sweep, clusters and their profiles
    GET /dashboard/segments/plots/{sweep|tiers|clusters}.png
    GET /dashboard/users?id=70211[&planned=true]     a user's library and top N, explained
    GET /dashboard/anime?q=12 | q=title words        an anime's most similar anime
    GET /dashboard/static/style.css
    GET /docs                               the API's docs, drawn from /openapi.json

Pages are plain `def` handlers, so FastAPI runs them in worker threads: a page reading the store never
holds up the JSON routes on the event loop. No page has a script: every one works without JavaScript.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated

from fastapi import Query
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from recommender.dashboard.pages import DashboardConfig, Pages

if TYPE_CHECKING:
    from fastapi import FastAPI

    from recommender.serving.holder import ModelHolder

__all__ = ["PAGE_PREFIXES", "add_dashboard", "is_page"]

PAGE_PREFIXES = ("/dashboard/", "/docs")
"""Paths whose errors are pages, not JSON (and "/" itself)."""
_PNG = {"Cache-Control": "no-cache"}


def is_page(path: str) -> bool:
    """Whether `path` is one of the dashboard's (its errors are HTML pages)."""
    return path in ("/", "/dashboard") or path.startswith(PAGE_PREFIXES)


def _not_found(message: str) -> Response:
    from starlette.exceptions import HTTPException

    raise HTTPException(404, message)


def add_dashboard(app: FastAPI, holder: ModelHolder, config: DashboardConfig) -> Pages:
    """Add the dashboard's pages to `app`; returns them (their error page renders the app's
    errors on dashboard paths)."""
    from recommender.dashboard.plots import MODEL_PLOTS, SEGMENT_PLOTS, segment_plots, sweep_png
    from recommender.dashboard.store_data import latest_segments
    from recommender.data.ids import parse_flag
    from recommender.errors import RecommenderError
    from recommender.registry import resolve_version

    pages = Pages(holder, config)
    page = functools.partial(app.get, response_class=HTMLResponse, include_in_schema=False)
    app.mount("/dashboard/static", StaticFiles(packages=[("recommender.dashboard", "static")]), name="static")

    @page("/")
    def home() -> HTMLResponse:
        return pages.home()

    @page("/dashboard/store")
    def store() -> HTMLResponse:
        return pages.store()

    @page("/dashboard/models")
    def models() -> HTMLResponse:
        return pages.models()

    @page("/dashboard/models/{version}")
    def model(version: str) -> HTMLResponse:
        return pages.models(version)

    @app.get("/dashboard/models/{version}/plots/{name}.png", include_in_schema=False)
    def model_plot(version: str, name: str) -> Response:
        try:
            folder = holder.model_dir / resolve_version(holder.model_dir, version)
        except RecommenderError:
            return _not_found(f"no model version {version!r}")
        if name not in MODEL_PLOTS or not (folder / MODEL_PLOTS[name]).is_file():
            return _not_found(f"model {folder.name} has no {name} plot")
        return FileResponse(folder / MODEL_PLOTS[name], media_type="image/png", headers=_PNG)

    @page("/dashboard/segments")
    def segments() -> HTMLResponse:
        return pages.segments()

    @app.get("/dashboard/segments/plots/{name}.png", include_in_schema=False)
    def segment_plot(name: str) -> Response:
        if name == "sweep":
            run = latest_segments(holder.store.engine) if holder.store is not None else None
            png = sweep_png(run.run_id, run.summary.get("sweep", []), run.k or 0) if run else None
            return Response(png, media_type="image/png", headers=_PNG) if png else _not_found("no k sweep")
        found = segment_plots(config.segments_dir)
        if name not in SEGMENT_PLOTS or name not in found:
            return _not_found(f"no {name} plot in the segments folder")
        return FileResponse(found[name], media_type="image/png", headers=_PNG)

    @page("/dashboard/users")
    def user(id: Annotated[str | None, Query()] = None, planned: Annotated[str | None, Query()] = None) -> HTMLResponse:
        return pages.user(id, bool(parse_flag(planned or "")))

    @page("/dashboard/anime")
    def anime(q: Annotated[str | None, Query()] = None) -> HTMLResponse:
        return pages.anime(q)

    @page("/docs")
    def docs() -> HTMLResponse:
        return pages.docs(app.openapi())

    return pages
