"""The Kitsu API client: one keep-alive httpx.AsyncClient, a polite rate, bounded retries."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from kitsu_ingest.errors import (
    AuthError,
    NotFoundError,
    RequestRejected,
    TransientError,
    UnreachableError,
)
from kitsu_ingest.kitsu.config import ApiConfig
from kitsu_ingest.kitsu.jsonapi import Document, parse_document
from kitsu_ingest.kitsu.ratelimit import AdaptiveRate

__all__ = ["MAX_PAGES_AT_ONCE", "ClientStats", "KitsuClient", "following_pages"]

JSONAPI = "application/vnd.api+json"
MAX_PAGES_AT_ONCE = 1000
"""Most pages of one collection requested at once (Kitsu's largest, 20 users' libraries, are ~200)."""


@dataclass
class ClientStats:
    """What the client did: requests sent, responses by status, retries by cause."""

    requests: int = 0
    ok: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    gave_up: int = 0


class KitsuClient:
    """Async Kitsu API client. Use as `async with KitsuClient.from_config(api) as kitsu:` (or
    `KitsuClient(base_url, ...)`, whose defaults are ApiConfig's).

    Every GET waits for a concurrency slot and its turn under the rate, then is retried with
    exponential backoff and jitter on 5xx, 429 (honouring Retry-After), 403, timeouts, dropped
    connections and malformed bodies, at most `max_attempts` times; 400, 401 and 404 are not
    retried. Paths are relative to `base_url`; absolute URLs (links.next) are used as given.
    After `login`, the Bearer token goes only to `base_url`'s origin (scheme, host and port): a page
    link to another origin is followed without it, as httpx does with a redirect to one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        rate: float | None = ApiConfig.rate,
        concurrency: int = ApiConfig.concurrency,
        timeout: float = ApiConfig.timeout,
        max_attempts: int = ApiConfig.max_attempts,
        user_agent: str = ApiConfig.user_agent,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._auth: dict[str, str] = {}
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.concurrency = concurrency
        self.rate = AdaptiveRate(rate)
        self.stats = ClientStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(
            headers={"Accept": JSONAPI, "User-Agent": user_agent},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=True,
        )

    @classmethod
    def from_config(cls, config: ApiConfig) -> KitsuClient:
        """The client `config` describes (not logged in: see `login`)."""
        return cls(
            config.base_url,
            rate=config.rate,
            concurrency=config.concurrency,
            timeout=config.timeout,
            max_attempts=config.max_attempts,
            user_agent=config.user_agent,
            transport=config.transport,
        )

    async def __aenter__(self) -> KitsuClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def login(self, username: str, password: str) -> None:
        """OAuth password grant; later requests carry the Bearer token. Credentials are never logged."""
        token_url = self.base_url.removesuffix("/edge") + "/oauth/token"
        try:
            response = await self._http.post(
                token_url,
                data={"grant_type": "password", "username": username, "password": password},
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise UnreachableError(f"cannot reach {token_url} to log in: {exc}") from None
        if response.status_code in (400, 401, 403):
            raise AuthError(
                f"Kitsu refused the login for {username!r} (HTTP {response.status_code}); "
                "check KITSU_USERNAME and KITSU_PASSWORD"
            )
        try:
            token = orjson.loads(response.content)["access_token"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise AuthError(f"unexpected answer from {token_url} (HTTP {response.status_code})") from None
        if not isinstance(token, str) or not token.isascii() or not token.isprintable():
            raise AuthError(f"unexpected answer from {token_url} (HTTP {response.status_code})")
        self._auth = {"Authorization": f"Bearer {token}"}

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Document:
        """GET one document, retrying what is worth retrying; raises an ApiError otherwise."""
        url = self.url(path)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get_once(url, params)
        except TransientError:
            self.stats.gave_up += 1
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def pages(self, path: str, params: Mapping[str, Any] | None = None) -> AsyncGenerator[Document, None]:
        """Every page of a collection: the first, then the rest all at once (their URLs are
        `links.next` with each remaining offset, from `meta.count`), in the order they arrive.
        Without a count or an offset in `links.next`, the pages are followed one by one."""
        document = await self.get(path, params)
        yield document
        following = following_pages(document)
        if following is None:
            while document.next:
                document = await self.get(document.next)
                yield document
            return
        tasks = [asyncio.ensure_future(self.get(url)) for url in following]
        try:
            for task in asyncio.as_completed(tasks):
                yield await task
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _headers_for(self, url: str) -> dict[str, str] | None:
        """The credentials, for a URL of the base URL's origin only."""
        return self._auth if self._auth and _origin(url) == self._origin else None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return exc.retry_after + random.uniform(0, 0.25)
        first, most = self.backoff
        return random.uniform(0, min(most, first * 2 ** (state.attempt_number - 1)))

    def _count_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        self.stats.retries[exc.cause if isinstance(exc, TransientError) else "other"] += 1

    async def _get_once(self, url: str, params: Mapping[str, Any] | None) -> Document:
        async with self._slots:
            await self.rate.acquire()
            self.stats.requests += 1
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self._http.get(url, params=params, headers=self._headers_for(url))
            except (TimeoutError, httpx.TimeoutException):
                raise TransientError(f"timed out after {self.timeout:g} s: {url}", "timeout") from None
            except httpx.ConnectError as exc:
                if self.stats.ok == 0:
                    raise UnreachableError(f"cannot reach {self.base_url} ({exc})") from None
                raise TransientError(f"connection failed: {url}", "connect") from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:  # e.g. a links.next that is no URL
                raise RequestRejected(f"cannot request {url!r}: {exc}") from None
            except httpx.TransportError as exc:
                raise TransientError(f"connection dropped ({type(exc).__name__}): {url}", "dropped") from None
        return self._document(response)

    def _document(self, response: httpx.Response) -> Document:
        status, url = response.status_code, str(response.url)
        self.stats.statuses[status] += 1
        if status == 200:
            document = parse_document(response.content, url)
            self.stats.ok += 1
            self.rate.succeeded()
            return document
        body = response.text[:4000]
        if status == 429:
            retry_after = _seconds(response.headers.get("Retry-After"))
            if retry_after is None:
                self.rate.slow_down()
            else:
                self.rate.pause(retry_after)
            raise TransientError(f"rate limited (429): {url}", "429", retry_after=retry_after, payload=body)
        if status >= 500 or status in (403, 408):
            raise TransientError(f"HTTP {status}: {url}", str(status) if status < 500 else "5xx", payload=body)
        detail = _error_detail(response)
        if status == 404:
            raise NotFoundError(detail or f"not found: {url}")
        if status == 401:
            raise AuthError(f"Kitsu refused the credentials (401): {detail}")
        raise RequestRejected(f"HTTP {status} for {url}: {detail}")


def following_pages(document: Document) -> list[str] | None:
    """URLs of the pages after `document`: its `links.next` with page[offset] set to each
    remaining offset up to `meta.count`; None when the links or count do not allow it (or
    promise more than MAX_PAGES_AT_ONCE pages: those are followed one by one)."""
    if not document.next:
        return []
    try:
        parts = urlsplit(document.next)
        query = parse_qsl(parts.query, keep_blank_values=True)
        values = dict(query)
        offset, limit = int(values["page[offset]"]), int(values["page[limit]"])
    except (KeyError, ValueError):
        return None
    count = document.count
    if count is None or limit < 1 or offset < 0 or (count - offset) / limit > MAX_PAGES_AT_ONCE:
        return None
    return [
        urlunsplit(parts._replace(query=urlencode(
            [(k, str(o) if k == "page[offset]" else v) for k, v in query]
        )))
        for o in range(offset, count, limit)
    ]


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the default port spelled out, as a browser compares origins."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return ("", url, None)
    scheme = parsed.scheme.lower()
    return scheme, parsed.host.lower(), parsed.port or {"http": 80, "https": 443}.get(scheme)


def _seconds(value: str | None) -> float | None:
    """A Retry-After in seconds (0 or more); None for none, or one that is not a finite number."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return max(0.0, seconds) if seconds is not None and math.isfinite(seconds) else None


def _error_detail(response: httpx.Response) -> str:
    try:
        errors = orjson.loads(response.content)["errors"]
        return "; ".join(str(e.get("detail") or e.get("title")) for e in errors)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return response.text[:200]
