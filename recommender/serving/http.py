"""The HTTP JSON API's routes (`api_router`), its schemas and parameters: recommendations, similar
anime, health. `recommender.webapp` composes it with the dashboard into the app `recommend serve`
runs (exception handlers, lifespan, OpenAPI document).

    GET /users/{id}/recommendations?n=10&include_planned=false&explain=false
    GET /anime/{id}/similar?n=10
    GET /health                        {"status": "ok" | "degraded", "model_version", "loaded_at"}
    GET /openapi.json                  the OpenAPI document, generated from the typed handlers below
    GET /docs                          that document as a page (server-rendered: no CDN, no script)
    GET /                              the dashboard (`recommender.dashboard`): HTML pages

Status codes: 400 a malformed id or parameter, or a question the served model's family cannot
answer (a popularity model has no similar anime, no explanations); 404 an unknown user, anime or
path; 405 another method than GET or HEAD (with `Allow`); 503 no model, a broken one, an
unreadable store or too many heavy requests at once (with `Retry-After`); 500 anything unexpected. Every error body is
{"error": str, "status": int} (FastAPI's 422 and its "detail" are replaced by this 400). Ids are
ASCII digits, 1 <= id < 2**63 (`recommender.data.ids.parse_id`), for a model trained on the store;
a model trained on a file takes its file's keys. n is 1..1000, and 1..100 with explain=true.
Every answer says `X-Content-Type-Options: nosniff` and may not be framed by another site.
Messages name files relative to the model directory (`MODEL_DIR/...`), never by the server's
absolute paths. A path with a trailing slash is a 404, not a redirect (whose Location would echo
the client's Host). Errors on the dashboard's pages are pages too (`recommender.webapp`).

/health is 200 "ok" while the newest model is served; 200 "degraded" (with the load `error` and
the version still served) when a newer version fails to load: the server still answers, from the
model it has, so a load balancer should keep it while monitoring sees the failure; 503 (an error
like any other: {"error": "no model: ...", "status": 503}) when there is none to answer with.

Cheap requests run on the event loop itself: a known user's top N (N <= 100) is about a millisecond
of numpy and two indexed queries, and a hop to a worker thread and back costs more than that on a
busy machine. Explanations (implicit's explain per item: ~30 ms for 10 items, ~130 ms for 100 on a
4,000-anime model), a larger N, and users folded in from the store run in worker threads, at most
`threads` at once, so that /health and cheap requests never wait behind them (four n=1000
explanations used to hold /health for 2.9 s). Handlers return their JSON already encoded (orjson):
the response models describe it in the OpenAPI document, and the schemathesis test checks every
answer against them, instead of FastAPI validating each response again.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from recommender.data.ids import MAX_ID, parse_flag, parse_id, shown
from recommender.serving.holder import ModelHolder
from recommender.serving.recommender import Recommender, SimilarResult, UserResult

__all__ = ["ERRORS", "HEAVY_BACKLOG", "JSON", "MAX_EXPLAIN", "MAX_N", "ErrorBody", "Health", "api_router",
           "error_response", "invalid_message"]

MAX_N = 1000
MAX_EXPLAIN = 100
"""The largest n with explain=true (each explained item costs about a millisecond and a half)."""
_ON_LOOP_N = 100
"""Up to this n (without explain, for a user in the model) a request runs on the event loop."""
HEAVY_BACKLOG = 4
"""Heavy requests waiting for a worker thread, per thread, before more are refused with a 503 (a
hundred n=100 explanations at once held both cores for 11 s)."""
MAX_KEY = 200
"""The longest user or item key a path takes."""


# -- what the API answers (the OpenAPI document's schemas) -----------------------------------------
class ErrorBody(BaseModel):
    """Every error, whatever its status."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(description="What went wrong, in one line")
    status: int = Field(description="The HTTP status, repeated")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    model_version: str
    loaded_at: datetime
    error: str | None = Field(None, description="Degraded: why the newest version failed to load")


# -- parameters: ids are ASCII digits only (pydantic alone would take " 12", "+5", "1_000", "12.0") --
def _digits(value: object) -> object:
    if isinstance(value, str):
        parsed = parse_id(value)
        if parsed is None:
            raise ValueError("not ASCII digits")
        return parsed
    return value


def _flag(value: object) -> object:
    if isinstance(value, str):
        flag = parse_flag(value)
        if flag is None:
            raise ValueError("not a flag")
        return flag
    return value


UserId = Annotated[str, Path(min_length=1, max_length=MAX_KEY, examples=["70211"],
                             description=f"A Kitsu user id (1 to {MAX_ID}); a file model's user key")]
AnimeId = Annotated[str, Path(min_length=1, max_length=MAX_KEY, examples=["1"],
                              description=f"A Kitsu anime id (1 to {MAX_ID}); a file model's item key")]
Count = Annotated[int, Query(ge=1, le=MAX_N, description=f"How many (at most {MAX_EXPLAIN} with explain=true)"),
                  BeforeValidator(_digits)]
Planned = Annotated[bool, Query(description="Allow anime the user only planned to watch back in"),
                    BeforeValidator(_flag)]
Explain = Annotated[bool, Query(description="Say which of the user's anime drove each one"),
                    BeforeValidator(_flag)]


def invalid_message(request: Request, exc: RequestValidationError) -> str:
    """The one-line 400 message for the first parameter FastAPI refused."""
    first = exc.errors()[0] if exc.errors() else {}
    where, name = (*first.get("loc", ()), "", "")[:2]
    raw = (request.path_params if where == "path" else request.query_params).get(str(name), "")
    if name in ("user_id", "anime_id"):
        what = "the user id" if name == "user_id" else "the anime id"
        return f"{what} must be a positive integer below 2**63, not {shown(raw)}"
    if name == "n":
        explained = bool(parse_flag(request.query_params.get("explain", "false")))
        most, why = (MAX_EXPLAIN, " with explain=true") if explained else (MAX_N, "")
        return f"n must be an integer from 1 to {most}{why}, not {shown(raw)}"
    if name in ("include_planned", "explain"):
        return f"{name} must be true or false, not {shown(raw)}"
    return f"malformed request: {shown(first.get('msg', 'invalid parameter'), 120)}"


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSON:
    """The one error shape: {"error": message, "status": status}."""
    return JSON({"error": message, "status": status}, status_code=status, headers=headers)


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A malformed id or parameter, or a question the model's family "
                                           "cannot answer (explanations, similar anime)"},
    404: {"model": ErrorBody, "description": "An unknown user or anime"},
    503: {"model": ErrorBody, "description": "No model, a broken one, or an unreadable store"},
    500: {"model": ErrorBody, "description": "Anything unexpected"},
}


def api_router(holder: ModelHolder, off_loop: Callable[[Callable[[], Any]], Awaitable[Any]]) -> APIRouter:
    """The JSON routes over `holder`; `off_loop` runs a heavy call in a worker thread (or refuses it)."""
    router = APIRouter()

    def model() -> Recommender:
        current = holder.current
        if current is None:
            raise HTTPException(503, f"no model: {holder.masked(holder.error or 'not loaded')}")
        return current

    @router.get("/users/{user_id}/recommendations", response_model=UserResult, responses=ERRORS,
                summary="Top N anime for a user", tags=["recommendations"])
    async def recommendations(user_id: UserId, n: Count = 10, include_planned: Planned = False,
                              explain: Explain = False) -> Response:
        """Never an anime already in the user's library or favourites. A user the model has not
        seen is folded in from the store; one with no interactions gets popular anime."""
        if explain and n > MAX_EXPLAIN:
            raise HTTPException(400, f"n must be an integer from 1 to {MAX_EXPLAIN} with explain=true, not {n}")
        current = model()
        key = current.user_key(user_id)
        call = functools.partial(current.user, key, n, include_planned=include_planned, explain=explain)
        light = not explain and n <= _ON_LOOP_N and current.users.position(key) >= 0
        return JSON((call() if light else await off_loop(call)).as_dict())

    @router.get("/anime/{anime_id}/similar", response_model=SimilarResult, responses=ERRORS,
                summary="The anime most similar to one", tags=["recommendations"])
    async def similar(anime_id: AnimeId, n: Count = 10) -> Response:
        """By the model's similarity (cosine of the item factors for ALS)."""
        current = model()
        call = functools.partial(current.similar, current.item_key(anime_id), n)
        return JSON((call() if n <= _ON_LOOP_N else await off_loop(call)).as_dict())

    @router.get("/health", response_model=Health, responses={503: ERRORS[503]}, summary="Is a model served",
                tags=["health"])
    async def health() -> Response:
        """"ok", or "degraded" while a newer model fails to load (the older one still answers);
        503 when there is no model to answer with."""
        current, error = holder.current, holder.error
        if current is None:
            return error_response(503, f"no model: {holder.masked(error or 'not loaded')}")
        loaded = datetime.fromtimestamp(current.loaded_at, UTC)
        body = {"status": "ok", "model_version": current.version, "loaded_at": loaded.isoformat(timespec="seconds")}
        if error is not None:
            body.update(status="degraded", error=holder.masked(error))
        return JSON(body)

    return router
