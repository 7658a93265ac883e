"""The HTTP JSON API (Starlette): recommendations, similar anime, health; errors as JSON.

    GET /users/{id}/recommendations?n=10&include_planned=false&explain=false
    GET /anime/{id}/similar?n=10
    GET /health                        {"status": "ok", "model_version", "loaded_at"}

Status codes: 400 a malformed id or parameter, 404 an unknown user, anime or path, 503 no model
(or an unreadable store), 500 anything unexpected. Every body is JSON.

The model is loaded once into a `ModelHolder`; a watcher thread checks the model directory and
loads a newer version beside the old one, then swaps the reference: requests in flight finish on
the model they started with, and none waits for the load.

Handlers run on the event loop itself: a request is about a millisecond of numpy and two indexed
queries, and handing it to a worker thread and back costs more than that on a busy machine.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recommender.data.store import StoreReader
from recommender.errors import RecommenderError
from recommender.serving.recommender import NotFound, Recommender

__all__ = ["ModelHolder", "create_app"]

log = logging.getLogger(__name__)
MAX_N = 1000


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _error(status: int, message: str) -> JSON:
    return JSON({"error": message, "status": status}, status_code=status)


class ModelHolder:
    """The current Recommender, replaced when a newer model version is saved (unless pinned)."""

    def __init__(self, model_dir: Path, version: str | None, store: StoreReader,
                 interval: float = 2.0) -> None:
        self.model_dir = model_dir
        self.pinned = version
        self.store = store
        self.interval = interval
        self.current: Recommender | None = None
        self.error: str | None = "not loaded yet"
        self._refresh_lock = threading.Lock()

    def refresh(self) -> bool:
        """Load the wanted version if it is not the current one; True when it swapped."""
        from recommender.registry import resolve_version

        with self._refresh_lock:
            try:
                wanted = resolve_version(self.model_dir, self.pinned)
                if self.current is not None and self.current.version == wanted:
                    return False
                fresh = Recommender.load(self.model_dir, wanted, self.store)
                fresh.warm()
            except RecommenderError as exc:
                self.error = str(exc)
                if self.current is not None:
                    log.warning("keeping model %s: %s", self.current.version, exc)
                return False
            self.current, self.error = fresh, None
            return True

    def watch(self, stop: threading.Event) -> None:
        """Refresh every `interval` seconds until `stop` is set (a pinned version never changes)."""
        while not stop.wait(self.interval):
            if self.pinned is None or self.current is None:
                self.refresh()


def _positive(value: str, what: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise HTTPException(400, f"{what} must be a positive integer, not {value!r}")
    return int(value)


def _n(request: Request) -> int:
    raw = request.query_params.get("n", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_N:
        raise HTTPException(400, f"n must be an integer from 1 to {MAX_N}, not {raw!r}")
    return int(raw)


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise HTTPException(400, f"{name} must be true or false, not {raw!r}")
    return raw in ("true", "1", "yes")


def create_app(holder: ModelHolder, *, watch: bool = True) -> Starlette:
    """The Starlette app over `holder` (with `watch`, a thread picks up newer models)."""

    def model() -> Recommender:
        current = holder.current
        if current is None:
            raise HTTPException(503, f"no model: {holder.error}")
        return current

    async def recommendations(request: Request) -> JSON:
        user_id = _positive(request.path_params["user_id"], "the user id")
        n, planned = _n(request), _flag(request, "include_planned")
        explain = _flag(request, "explain")
        return JSON(model().user(user_id, n, include_planned=planned, explain=explain).as_dict())

    async def similar(request: Request) -> JSON:
        anime_id = _positive(request.path_params["anime_id"], "the anime id")
        return JSON(model().similar(anime_id, _n(request)).as_dict())

    async def health(_request: Request) -> JSON:
        current = holder.current
        if current is None:
            return JSON({"status": "no model", "error": holder.error}, status_code=503)
        loaded = datetime.fromtimestamp(current.loaded_at, UTC)
        return JSON({"status": "ok", "model_version": current.version,
                     "loaded_at": loaded.isoformat(timespec="seconds")})

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def not_found(_request: Request, exc: Exception) -> Response:
        return _error(404, str(exc))

    async def unavailable(_request: Request, exc: Exception) -> Response:
        return _error(503, str(exc))

    async def internal(_request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return _error(500, "internal error")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        from threadpoolctl import threadpool_limits

        # One BLAS thread per request thread: idle OpenBLAS threads spin and starve the others.
        blas = threadpool_limits(limits=1, user_api="blas")
        stop = threading.Event()
        watcher = threading.Thread(target=holder.watch, args=(stop,), daemon=True,
                                   name="model-watcher")
        if watch:
            if holder.current is None:
                holder.refresh()
            watcher.start()
        try:
            yield
        finally:
            stop.set()
            blas.restore_original_limits()

    routes = [
        Route("/users/{user_id}/recommendations", recommendations),
        Route("/anime/{anime_id}/similar", similar),
        Route("/health", health),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        HTTPException: http_error, NotFound: not_found, RecommenderError: unavailable,
        Exception: internal,
    })

