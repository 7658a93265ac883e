"""The dashboard's pages: each gathers what it shows from the project's own readers (store stats,
crawl status, segmentation runs, the registry, the served Recommender), turns what is missing into a
`Notice` naming the command that fixes it, and renders its template. Nothing here raises for bad
input or a missing store, model or run: each case is a sentence on the page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import HTMLResponse

from recommender.dashboard import notices as fix
from recommender.dashboard.cache import Refreshed
from recommender.dashboard.notices import Notice
from recommender.dashboard.render import render
from recommender.data.ids import parse_id, shown
from recommender.errors import RecommenderError
from recommender.models.base import Unsupported
from recommender.serving.holder import ModelHolder
from recommender.serving.recommender import FALLBACK, FOLDED_IN, BadRequest, NotFound

__all__ = ["DashboardConfig", "Pages"]


@dataclass(frozen=True)
class DashboardConfig:
    """Where the dashboard finds what the other commands wrote, and how much it shows."""

    segments_dir: Path = Path("reports/segments")
    """The plot folder of `kitsu-ingest segment-users` (its --out-dir)."""
    crawl_runs: int = 5
    """Crawl runs listed on the store page."""
    top_n: int = 10
    """Anime listed for a user and as similar to an anime."""
    counts_max_age: float = 30.0
    """Seconds the store's counts are shown before they are counted again (in the background)."""
    counts_wait: float = 0.2
    """Seconds a page waits for the store's first count before it says the count is under way."""


class Pages:
    """The pages over one model holder (and the store it reads)."""

    def __init__(self, holder: ModelHolder, config: DashboardConfig) -> None:
        from kitsu_ingest.store.stats import store_stats

        self.holder = holder
        self.config = config
        self.counts: Refreshed[dict[str, Any]] = Refreshed(lambda: store_stats(self._engine()),
                                                            config.counts_max_age)

    def warm(self) -> None:
        """The one-off work of the first visit, done at start-up instead: count the store (in the
        background), compile the templates, import what the pages read with."""
        from recommender.dashboard import plots, store_data  # noqa: F401
        from recommender.dashboard.render import compile_templates

        self.counts.refresh()
        compile_templates()
        from kitsu_ingest.crawl import status  # noqa: F401
        from kitsu_ingest.segment import store  # noqa: F401

    # -- shared ------------------------------------------------------------------------------------
    def _engine(self) -> Any:
        """The store's engine; RecommenderError when the server has no store."""
        if self.holder.store is None:
            raise RecommenderError("there is no store: give `recommend serve` a --database-url (or DATABASE_URL) "
                                   "to show its counts, crawls and segments")
        return self.holder.store.engine

    def _page(self, template: str, active: str, status: int = 200, **context: Any) -> HTMLResponse:
        current = self.holder.current
        return render(template, status, None, active=active, served=current.version if current else None,
                      model_notice=self._model_notice(), **context)

    def _model_notice(self) -> Notice | None:
        current, error = self.holder.current, self.holder.error
        if current is None:
            return Notice(f"No model is served: {self.holder.masked(error or 'not loaded yet')}", fix.TRAIN, "error")
        if error is not None:
            return Notice(f"The newest model failed to load, so model {current.version} still answers: "
                          f"{self.holder.masked(error)}", fix.TRAIN, "error")
        return None

    def _counts(self) -> tuple[dict[str, Any] | None, float, list[Notice]]:
        snapshot = self.counts.get(self.config.counts_wait)
        if snapshot is None:
            return None, 0.0, [Notice("The store is being counted (a few seconds on a large store): reload the "
                                      "page in a moment for its counts.", None, "info")]
        if snapshot.error is not None:
            return None, snapshot.age, [fix.store_problem(snapshot.error)]
        stats = snapshot.value
        if stats is not None and not stats["users"] and not stats["anime"]:
            return stats, snapshot.age, [Notice("The store is empty: no users, anime or library entries yet.",
                                                fix.CRAWL)]
        return stats, snapshot.age, []

    # -- pages -------------------------------------------------------------------------------------
    def home(self) -> HTMLResponse:
        from recommender.dashboard.store_data import latest_segments

        stats, age, notes = self._counts()
        segments = None
        try:
            segments = latest_segments(self._engine())
        except (SQLAlchemyError, RecommenderError) as exc:
            notes.append(fix.store_problem(exc))
        current = self.holder.current
        card = current.card if current else None
        primary = card.test.get(card.family, {}).get(card.primary) if card else None
        return self._page("home.html", "home", stats=stats, counted_ago=age, notices=notes, segments=segments,
                          card=card, primary=primary)

    def store(self) -> HTMLResponse:
        from recommender.dashboard.store_data import crawl_runs
        from recommender.dashboard.views import bars

        stats, age, notes = self._counts()
        runs: list[dict[str, Any]] = []
        try:
            runs = crawl_runs(self._engine(), self.config.crawl_runs)
        except (SQLAlchemyError, RecommenderError) as exc:
            notes.append(fix.store_problem(exc))
        if not runs and not notes:
            notes.append(Notice("No crawl has run on this store yet.", fix.CRAWL, "info"))
        newest = runs[0] if runs else None
        if newest and newest["status"] not in ("done", "running"):
            notes.append(Notice(f"Crawl run {newest['run_id']} stopped ({newest['status']}) at "
                                f"{newest['percent']:.0f}% of its users.", "kitsu-ingest crawl --resume"))
        statuses = bars(stats["library_entries_by_status"]) if stats else []
        running = newest if newest and newest["alive"] else None
        return self._page("store.html", "store", stats=stats, counted_ago=age, notices=notes, runs=runs,
                          running=running, statuses=statuses, counts_max_age=self.config.counts_max_age)

    def models(self, version: str | None = None) -> HTMLResponse:
        from recommender.dashboard.plots import model_plots
        from recommender.dashboard.views import figures_table, version_rows
        from recommender.registry import list_models, read_card, resolve_version

        directory = self.holder.model_dir
        notes: list[Notice] = []
        listed: list[dict[str, Any]] = []
        try:
            listed = list_models(directory)
        except RecommenderError as exc:
            notes.append(Notice(self.holder.masked(str(exc)), None, "error"))
        if not listed and not notes:
            notes.append(Notice("No model has been trained yet.", fix.TRAIN))
        current = self.holder.current
        card, plots, figures, status, chosen = None, {}, None, 200, None
        wanted = version or (current.version if current else None)
        if listed:
            try:
                chosen = resolve_version(directory, wanted)
                card = read_card(directory / chosen)
                figures = figures_table(card.test, card.primary, card.family)
                plots = model_plots(directory / chosen)
            except RecommenderError as exc:
                status = 404 if version and chosen is None else 200
                notes.append(Notice(self.holder.masked(str(exc)), fix.TRAIN, "error"))
        served = current.version if current else None
        return self._page("models.html", "models", status, versions=version_rows(listed, served), card=card,
                          chosen=chosen, figures=figures, plots=plots, notices=notes)

    def segments(self) -> HTMLResponse:
        from recommender.dashboard.plots import segment_plots
        from recommender.dashboard.store_data import latest_segments
        from recommender.dashboard.views import bars

        notes: list[Notice] = []
        run = None
        try:
            run = latest_segments(self._engine())
        except (SQLAlchemyError, RecommenderError) as exc:
            notes.append(fix.store_problem(exc))
        if run is None and not notes:
            notes.append(Notice("Users have not been segmented yet: no tiers, no clusters.", fix.SEGMENT))
        plots = segment_plots(self.config.segments_dir) if run else {}
        if run and len(plots) < 2:
            notes.append(Notice(f"The tiers' pair plot and the cluster plot are drawn by `{fix.SEGMENT}` into "
                                f"{self.config.segments_dir}/, and are not there (run with --no-plots, or "
                                "with another --out-dir: give the folder to `recommend serve --segments-dir`).",
                                fix.SEGMENT, "info"))
        summary = run.summary if run else {}
        return self._page("segments.html", "segments", notices=notes, run=run, plots=plots,
                          tiers=bars(summary.get("tiers", {})), sweep=summary.get("sweep", []),
                          profiles=summary.get("profiles", []), notes=summary.get("notes", []),
                          edges=run.params.get("edges", []) if run else [])

    def user(self, raw: str | None, planned: bool) -> HTMLResponse:
        from recommender.dashboard.views import bars, library_by_status

        text = (raw or "").strip()
        context: dict[str, Any] = {"query": text, "planned": planned, "user_id": None, "library": [],
                                   "result": None, "notices": [], "favourites": 0}
        if not text:
            return self._page("user.html", "user", **context)
        current = self.holder.current
        try:
            user_id = current.user_key(text) if current is not None else parse_id(text)
        except BadRequest:
            user_id = None
        if user_id is None:
            kind = "a user key of the model's file" if current and current.saved.from_file else \
                "a Kitsu user id such as 70211"
            context["notices"] = [Notice(f"{shown(text)} is not a user id: give {kind}.")]
            return self._page("user.html", "user", 400, **context)
        context["user_id"] = user_id
        notes: list[Notice] = context["notices"]
        known = False
        try:
            events = (current.catalogue if current is not None else self._store()).user_events(user_id)
            known = events.known
            if not events.empty:
                context["library"] = bars(library_by_status(events.entries))
                context["favourites"] = len(events.favorites)
        except RecommenderError as exc:
            notes.append(fix.store_problem(exc))
        status = 200
        if current is not None:
            try:
                try:
                    result = current.user(user_id, self.config.top_n, include_planned=planned, explain=True)
                except Unsupported:  # a family that cannot explain still recommends
                    result = current.user(user_id, self.config.top_n, include_planned=planned)
                context["result"] = result
                if result.source == FALLBACK:
                    notes.append(Notice(f"User {user_id} has an empty library, so these are the most popular "
                                        "anime, not a recommendation of their own.", fix.crawl_user(user_id), "info"))
                elif result.source == FOLDED_IN:
                    notes.append(Notice(f"User {user_id} is not in model {result.version}: folded in from "
                                        "their library in the store.", None, "info"))
            except NotFound:
                status = 404
                notes.append(Notice(f"User {user_id} is unknown: neither in the store nor in model "
                                    f"{current.version}.", fix.crawl_user(user_id)))
            except RecommenderError as exc:
                notes.append(Notice(self.holder.masked(str(exc)), fix.TRAIN, "error"))
        elif not known and not notes:
            status = 404
            notes.append(Notice(f"User {user_id} is not in the store.", fix.crawl_user(user_id)))
        return self._page("user.html", "user", status, **context)

    def anime(self, raw: str | None) -> HTMLResponse:
        text = (raw or "").strip()
        context: dict[str, Any] = {"query": text, "matches": [], "result": None, "notices": []}
        if not text:
            return self._page("anime.html", "anime", **context)
        notes: list[Notice] = context["notices"]
        current = self.holder.current
        if not (text.isascii() and text.isdigit()):
            try:
                catalogue = current.catalogue if current is not None else self._store()
                context["matches"] = catalogue.search(text[:500], limit=10)
            except RecommenderError as exc:
                notes.append(fix.store_problem(exc))
        status = 200
        if current is not None:
            try:
                context["result"] = current.similar(text, self.config.top_n)
            except NotFound as exc:
                status = 404
                in_store = bool(context["matches"]) or self._in_store(text)
                notes.append(Notice(f"{exc}.", fix.TRAIN if in_store else fix.CRAWL))
            except Unsupported as exc:  # the family has no similarity (popularity): not an error of the page
                notes.append(Notice(f"Model {current.version} cannot find similar anime: {exc}.", fix.TRAIN, "info"))
            except RecommenderError as exc:
                status = exc.http_status
                notes.append(Notice(self.holder.masked(str(exc)), None if status == 400 else fix.TRAIN, "error"))
        return self._page("anime.html", "anime", status, **context)

    def _store(self) -> Any:
        """The store's reader; RecommenderError when the server has none."""
        self._engine()
        return self.holder.store

    def _in_store(self, text: str) -> bool:
        anime_id = parse_id(text)
        try:
            return anime_id is not None and bool(self._store().anime([anime_id]))
        except RecommenderError:
            return False

    def docs(self, document: dict[str, Any]) -> HTMLResponse:
        from recommender.dashboard.api_docs import docs_page

        return self._page("docs.html", "docs", page=docs_page(document))
