"""The app `recommend serve` runs: the JSON API (`recommender.serving.http.api_router`) and the
dashboard (`recommender.dashboard`), composed over one model holder; neither imports the other.

    app = create_app(ModelHolder(model_dir, None, store))

Here live what both share: the exception handlers (an error on a dashboard path is a page, any
other is the JSON error shape), the bound on heavy requests, the lifespan, the OpenAPI document
without FastAPI's 422, and the headers every answer carries (`GuardedHeaders`).

The model is loaded once into a `ModelHolder` (`recommender.serving.holder`); a watcher thread
loads newer versions beside the old one and swaps the reference, so no request waits for a load.

Heavy requests (explanations, a large N, fold-ins) run in worker threads, at most `threads` at
once; past `HEAVY_BACKLOG` waiting per thread, more are refused with a 503 and `Retry-After`.

After start-up a background thread warms what the first requests would otherwise pay for (the
OpenAPI document, the dashboard's templates and counts, a rehearsed fold-in and explanation), and
the objects start-up made are frozen out of the cyclic garbage collector (`gc.freeze`): a full
collection of them paused every request for 100 to 225 ms with the whole-site model.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from recommender.errors import RecommenderError
from recommender.serving.http import HEAVY_BACKLOG, api_router, error_response, invalid_message

if TYPE_CHECKING:
    from recommender.dashboard import DashboardConfig
    from recommender.serving.holder import ModelHolder

__all__ = ["GuardedHeaders", "create_app"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def create_app(holder: ModelHolder, *, watch: bool = True, threads: int | None = None,
               dashboard: DashboardConfig | None = None) -> FastAPI:
    """The app over `holder` (with `watch`, a thread picks up newer models): the JSON API, its
    OpenAPI document and docs page, and the dashboard (`dashboard`: its settings, default ones if
    None). Heavy requests run in at most `threads` worker threads at once (default: one per core,
    at least 2)."""
    import anyio.to_thread

    from recommender.dashboard import DashboardConfig, add_dashboard, error_page, is_page

    workers = threads or max(2, os.cpu_count() or 2)
    limiter = anyio.CapacityLimiter(workers)
    heavy = 0

    async def off_loop(call: Callable[[], _T]) -> _T:
        nonlocal heavy
        if heavy >= workers * (1 + HEAVY_BACKLOG):
            raise HTTPException(503, f"busy: {heavy} heavy requests (explanations, large n, fold-ins) are "
                                     "under way; retry in a moment", headers={"Retry-After": "1"})
        heavy += 1
        try:
            return await anyio.to_thread.run_sync(call, limiter=limiter)
        finally:
            heavy -= 1

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from threadpoolctl import threadpool_limits

        # One BLAS thread per request thread: idle OpenBLAS threads spin and starve the others.
        blas = threadpool_limits(limits=1, user_api="blas")
        stop = threading.Event()
        watcher = threading.Thread(target=holder.watch, args=(stop,), daemon=True, name="model-watcher")
        if watch:
            if holder.current is None:
                holder.refresh()
            watcher.start()
        # What start-up made (the model, imports) lives as long as the app: frozen, so that the
        # collector does not scan it again; warm() freezes what it loads too.
        gc.freeze()
        threading.Thread(target=warm, daemon=True, name="warm").start()
        try:
            yield
        finally:
            stop.set()
            blas.restore_original_limits()
            gc.unfreeze()

    app = FastAPI(title="kitsu-recs", version="1", lifespan=lifespan, redirect_slashes=False,
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  description="Anime recommendations from a model trained on Kitsu libraries. "
                              "Every error is {\"error\": str, \"status\": int}.")
    app.state.holder = holder
    app.include_router(api_router(holder, off_loop))

    def respond(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        if is_page(request.url.path):
            return error_page(status, message, headers)
        return error_response(status, message, headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return respond(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return respond(request, 400, invalid_message(request, exc))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RecommenderError)
        return respond(request, exc.http_status, holder.masked(str(exc)))

    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return respond(request, 500, "internal error")

    for kind, handler in ((HTTPException, http_error), (RequestValidationError, invalid),
                          (RecommenderError, refused), (Exception, internal)):
        app.add_exception_handler(kind, handler)
    app.openapi = functools.partial(_openapi, app)  # type: ignore[method-assign]
    pages = add_dashboard(app, holder, dashboard or DashboardConfig())
    app.add_middleware(GuardedHeaders)

    def warm() -> None:
        if (current := holder.current) is not None:
            current.rehearse()  # first: the user page's explanations are the dearest first visit
        app.openapi()
        pages.warm()
        gc.freeze()

    return app


class GuardedHeaders:
    """ASGI middleware: HEAD answered as GET without the body, and headers that keep browsers from
    sniffing content types and other sites from framing the pages."""

    HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"content-security-policy", b"frame-ancestors 'none'"), (b"referrer-policy", b"no-referrer"))

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def guarded(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.HEADERS]}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, guarded)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document without its 422 (this API answers a malformed request with a 400)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        document = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        schemas = document.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = document
    return app.openapi_schema
