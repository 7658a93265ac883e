"""The HTTP JSON API (Starlette): recommendations, similar anime, health; errors as JSON.

    GET /users/{id}/recommendations?n=10&include_planned=false&explain=false
    GET /anime/{id}/similar?n=10
    GET /health                        {"status": "ok" | "degraded", "model_version", "loaded_at"}

Status codes: 400 a malformed id or parameter, 404 an unknown user, anime or path, 405 another
method than GET (with `Allow`), 503 no model, a broken one or an unreadable store, 500 anything
unexpected. Every error body is {"error": str, "status": int}. Ids are ASCII digits, 1 <= id < 2**63
(`recommender.data.ids.parse_id`); n is 1..1000, and 1..100 with explain=true. Messages name files
relative to the model directory (`MODEL_DIR/...`), never by the server's absolute paths. A path
with a trailing slash is a 404, not a redirect (whose Location would echo the client's Host).

/health is 200 "ok" while the newest model is served; 200 "degraded" (with the load `error` and
the version still served) when a newer version fails to load: the server still answers, from the
model it has, so a load balancer should keep it while monitoring sees the failure; 503 (an error
like any other: {"error": "no model: ...", "status": 503}) when there is none to answer with.

The model is loaded once into a `ModelHolder` (`recommender.serving.holder`); a watcher thread
loads newer versions beside the old one and swaps the reference, so no request waits for a load.

Cheap requests run on the event loop itself: a known user's top N (N <= 100) is about a millisecond
of numpy and two indexed queries, and a hop to a worker thread and back costs more than that on a
busy machine. Explanations (implicit's explain per item: ~30 ms for 10 items, ~130 ms for 100 on a
4,000-anime model), a larger N, and users folded in from the store run in worker threads, at most
`threads` at once, so that /health and cheap requests never wait behind them (four n=1000
explanations used to hold /health for 2.9 s).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recommender.data.ids import parse_id, shown
from recommender.errors import RecommenderError
from recommender.serving.holder import ModelHolder
from recommender.serving.recommender import NotFound, Recommender

__all__ = ["MAX_EXPLAIN", "MAX_N", "ModelHolder", "create_app"]

log = logging.getLogger(__name__)
MAX_N = 1000
MAX_EXPLAIN = 100
"""The largest n with explain=true (each explained item costs about a millisecond and a half)."""
_ON_LOOP_N = 100
"""Up to this n (without explain, for a user in the model) a request runs on the event loop."""
_T = TypeVar("_T")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": message, "status": status}, status_code=status, headers=headers)


def _id(value: str, what: str) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise HTTPException(400, f"{what} must be a positive integer below 2**63, not {shown(value)}")
    return parsed


def _n(request: Request, most: int = MAX_N, why: str = "") -> int:
    raw = request.query_params.get("n", "10")
    parsed = parse_id(raw)
    if parsed is None or parsed > most:
        raise HTTPException(400, f"n must be an integer from 1 to {most}{why}, not {shown(raw)}")
    return parsed


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise HTTPException(400, f"{name} must be true or false, not {shown(raw)}")
    return raw in ("true", "1", "yes")


def create_app(holder: ModelHolder, *, watch: bool = True, threads: int | None = None) -> Starlette:
    """The Starlette app over `holder` (with `watch`, a thread picks up newer models); heavy
    requests run in at most `threads` worker threads at once (default: one per core, at least 2)."""
    import anyio.to_thread

    limiter = anyio.CapacityLimiter(threads or max(2, os.cpu_count() or 2))

    async def off_loop(call: Callable[[], _T]) -> _T:
        return await anyio.to_thread.run_sync(call, limiter=limiter)

    def model() -> Recommender:
        current = holder.current
        if current is None:
            raise HTTPException(503, f"no model: {holder.masked(holder.error or 'not loaded')}")
        return current

    async def recommendations(request: Request) -> JSON:
        user_id = _id(request.path_params["user_id"], "the user id")
        explain = _flag(request, "explain")
        n = _n(request, MAX_EXPLAIN, " with explain=true") if explain else _n(request)
        planned = _flag(request, "include_planned")
        current = model()
        call = functools.partial(current.user, user_id, n, include_planned=planned, explain=explain)
        light = not explain and n <= _ON_LOOP_N and current.users.position(user_id) >= 0
        return JSON((call() if light else await off_loop(call)).as_dict())

    async def similar(request: Request) -> JSON:
        anime_id, n = _id(request.path_params["anime_id"], "the anime id"), _n(request)
        call = functools.partial(model().similar, anime_id, n)
        return JSON((call() if n <= _ON_LOOP_N else await off_loop(call)).as_dict())

    async def health(_request: Request) -> JSON:
        current, error = holder.current, holder.error
        if current is None:
            return _error(503, f"no model: {holder.masked(error or 'not loaded')}")
        loaded = datetime.fromtimestamp(current.loaded_at, UTC)
        body = {"status": "ok", "model_version": current.version, "loaded_at": loaded.isoformat(timespec="seconds")}
        if error is not None:
            body.update(status="degraded", error=holder.masked(error))
        return JSON(body)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    async def not_found(_request: Request, exc: Exception) -> Response:
        return _error(404, str(exc))

    async def unavailable(_request: Request, exc: Exception) -> Response:
        return _error(503, holder.masked(str(exc)))

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
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        HTTPException: http_error, NotFound: not_found, RecommenderError: unavailable,
        Exception: internal,
    })
    app.router.redirect_slashes = False
    return app
