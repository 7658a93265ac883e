"""The Kitsu API client: one keep-alive httpx.AsyncClient, a polite rate, bounded retries."""

from __future__ import annotations

import asyncio
import math
import random
import zlib
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from kitsu_ingest.errors import (
    AuthError,
    NotFoundError,
    RequestRejected,
    RetryLater,
    TransientError,
    UnreachableError,
)
from kitsu_ingest.kitsu.config import ApiConfig
from kitsu_ingest.kitsu.jsonapi import Document, parse_document
from kitsu_ingest.kitsu.ratelimit import AdaptiveRate

__all__ = [
    "FREE_429S",
    "MAX_BODY",
    "MAX_PAGES",
    "MAX_REDIRECTS",
    "MAX_RETRY_AFTER",
    "ClientStats",
    "KitsuClient",
    "OnAnomaly",
    "following_pages",
]

JSONAPI = "application/vnd.api+json"
MAX_PAGES = 2000
"""Most pages of one collection (Kitsu's largest, 20 users' libraries, are ~200): those `meta.count`
announces are asked at once up to it, and a `links.next` that goes on past it is an error."""
MAX_BODY = 16 * 2**20
"""Most bytes of one response body, decoded (a page of 500 entries with its anime is under 1 MiB):
the body is streamed and dropped past it, so a gzip bomb or a runaway body costs no more memory."""
MAX_RETRY_AFTER = 600.0
"""Longest `Retry-After` (seconds) obeyed; a longer one stops the client with RetryLater."""
MAX_REDIRECTS = 5
FREE_429S = 20
"""Most 429s without Retry-After that one request meets while the client slows down (which cost it
no attempt; see AdaptiveRate.slow_down) before they count against its attempts."""

OnAnomaly = Callable[[str, str, str], None]
"""Told (kind, message, url) of what a collection's paging met that the API should not do."""


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
    exponential backoff and jitter on 5xx, 429, 403, timeouts, dropped connections and malformed
    or oversized bodies, at most `max_attempts` times; 400, 401 and 404 are not retried. A 429
    with Retry-After pauses every request (up to MAX_RETRY_AFTER; past it, RetryLater); one
    without slows the client down first, and costs an attempt only once it cannot slow further.
    Paths are relative to `base_url`; absolute URLs (links.next) are used as given. Requests go to
    `base_url`'s host only: a redirect elsewhere, or more than MAX_REDIRECTS, is refused. After
    `login`, the Bearer token goes only to `base_url`'s origin (scheme, host and port).
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
        self.host = self._origin[1]
        self._auth: dict[str, str] = {}
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.concurrency = concurrency
        self.rate = AdaptiveRate(rate)
        self.stats = ClientStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(
            headers={"Accept": JSONAPI, "Accept-Encoding": "gzip, deflate", "User-Agent": user_agent},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
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
        request = self._http.build_request(
            "POST", token_url, data={"grant_type": "password", "username": username, "password": password},
            headers={"Accept": "application/json"},
        )
        try:
            response, body = await self._send(request)
        except (TransientError, RequestRejected) as exc:
            raise UnreachableError(f"cannot reach {token_url} to log in: {exc}") from None
        if response.status_code in (400, 401, 403):
            raise AuthError(
                f"Kitsu refused the login for {username!r} (HTTP {response.status_code}); "
                "check KITSU_USERNAME and KITSU_PASSWORD"
            )
        try:
            token = orjson.loads(body)["access_token"]
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
        free = 0  # 429s answered by slowing down: they cost no attempt (at most FREE_429S of them)

        def stop(state: RetryCallState) -> bool:
            nonlocal free
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientError) and not exc.costs_attempt and free < FREE_429S:
                free += 1
                return False
            return state.attempt_number - free >= self.max_attempts

        retrying = AsyncRetrying(
            stop=stop,
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

    async def pages(self, path: str, params: Mapping[str, Any] | None = None, *,
                    on_anomaly: OnAnomaly | None = None) -> AsyncGenerator[Document, None]:
        """Every page of a collection, in the order they arrive: the first; then the pages
        `meta.count` announces, all at once (`links.next` with each remaining offset); then whatever
        `links.next` still names, one by one, so that a count too low loses nothing.

        `links.next` is not followed to another host, nor to a page asked already, nor past a
        page that brought no record not seen before: each is told to `on_anomaly`. A collection
        longer than MAX_PAGES pages is a TransientError (cause "endless-paging")."""
        document = await self.get(path, params)
        paging = _Paging(self, document, on_anomaly)
        yield document
        url = paging.follow(document, paging.read(document))
        following = following_pages(document) if url is not None else None
        if following:
            paging.ask(following)
            tasks = [asyncio.ensure_future(self.get(page_url)) for page_url in following]
            try:
                for task in asyncio.as_completed(tasks):
                    page = await task
                    paging.read(page)
                    yield page
                url = paging.follow(tasks[-1].result(), True)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        while url is not None:
            document = await self.get(url)
            yield document
            url = paging.follow(document, paging.read(document))

    def foreign(self, url: str | httpx.URL) -> str | None:
        """The host of `url` when it is not the base URL's (None when it is, or `url` is no URL)."""
        try:
            host = httpx.URL(url).host.lower()
        except httpx.InvalidURL:
            return None
        return None if host == self.host else host

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
            if (host := self.foreign(url)) is not None:
                raise RequestRejected(f"refused {url}: it is on {host}, not on the API's host {self.host}")
            try:
                request = self._http.build_request("GET", url, params=params, headers=self._headers_for(url))
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:  # e.g. a links.next that is no URL
                raise RequestRejected(f"cannot request {url!r}: {exc}") from None
            for _ in range(MAX_REDIRECTS + 1):
                sent_at = await self.rate.acquire()
                self.stats.requests += 1
                response, body = await self._send(request)
                if response.next_request is None:
                    return self._document(response, body, sent_at)
                request = response.next_request
                if (host := self.foreign(request.url)) is not None:
                    raise RequestRejected(f"{url} redirects to {request.url}, on another host ({host}): refused")
        raise RequestRejected(f"{url} redirects more than {MAX_REDIRECTS} times (a redirect loop?): refused")

    async def _send(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send one request (no redirect followed) and read its body, decoded, unless it redirects."""
        url = str(request.url)
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.send(request, stream=True)
                try:
                    body = b"" if response.next_request is not None else await _read(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            raise TransientError(f"timed out after {self.timeout:g} s: {url}", "timeout") from None
        except httpx.ConnectError as exc:
            if self.stats.ok == 0:
                raise UnreachableError(f"cannot reach {self.base_url} ({exc})") from None
            raise TransientError(f"connection failed: {url}", "connect") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise RequestRejected(f"cannot request {url!r}: {exc}") from None
        except httpx.TransportError as exc:
            raise TransientError(f"connection dropped ({type(exc).__name__}): {url}", "dropped") from None
        return response, body

    def _document(self, response: httpx.Response, body: bytes, sent_at: float) -> Document:
        status, url = response.status_code, str(response.url)
        self.stats.statuses[status] += 1
        if status == 200:
            document = parse_document(body, url)
            self.stats.ok += 1
            self.rate.succeeded(sent_at)
            return document
        text = body[:4000].decode("utf-8", "replace")
        if status == 429:
            retry_after = _seconds(response.headers.get("Retry-After"))
            if retry_after is None:
                wait = self.rate.slow_down(sent_at)
                raise TransientError(f"rate limited (429): {url}", "429", retry_after=wait, payload=text,
                                     costs_attempt=wait is None)
            if retry_after > MAX_RETRY_AFTER:
                raise RetryLater(
                    f"the API asks to wait {retry_after:,.0f} s (Retry-After) before its next request, more "
                    f"than the {MAX_RETRY_AFTER:,.0f} s a request waits at most ({url}): try again later"
                )
            self.rate.pause(retry_after)
            raise TransientError(f"rate limited (429): {url}", "429", retry_after=retry_after, payload=text)
        if status >= 500 or status in (403, 408):
            raise TransientError(f"HTTP {status}: {url}", str(status) if status < 500 else "5xx", payload=text)
        detail = _error_detail(body)
        if status == 404:
            raise NotFoundError(detail or f"not found: {url}")
        if status == 401:
            raise AuthError(f"Kitsu refused the credentials (401): {detail}")
        raise RequestRejected(f"HTTP {status} for {url}: {detail}")


class _Paging:
    """What paging one collection has met: the pages asked, the records read, the anomalies."""

    def __init__(self, client: KitsuClient, first: Document, on_anomaly: OnAnomaly | None) -> None:
        self.client, self.first, self.on_anomaly = client, first, on_anomaly
        self.asked = {_page_key(first.url)}
        self.records: set[tuple[str, str]] = set()

    def read(self, document: Document) -> bool:
        """Note a page's records; True when it brought one not read before."""
        before = len(self.records)
        self.records.update((r["type"], str(r["id"])) for r in document.data)
        return len(self.records) > before

    def ask(self, urls: list[str]) -> None:
        """Note pages about to be asked (at most MAX_PAGES of them in all)."""
        self.asked.update(map(_page_key, urls))
        if len(self.asked) > MAX_PAGES:
            raise TransientError(f"more than {MAX_PAGES} pages of {self.first.url}: its links.next never ends",
                                 "endless-paging")

    def follow(self, document: Document, fresh: bool) -> str | None:
        """The page after `document` to ask next, if its `links.next` is worth following."""
        if not document.next:
            return None
        url = self.client.url(document.next)
        if not fresh:
            return self._refuse("next-nothing-new", f"a page brought no new record, yet names a next page: "
                                                    f"{url} not followed", document.url)
        if (host := self.client.foreign(url)) is not None:
            return self._refuse("next-other-host", f"links.next points to another host ({host}): "
                                                   f"{url} not followed", document.url)
        if _page_key(url) in self.asked:
            return self._refuse("next-loop", f"links.next points back to a page asked already: {url} not "
                                             "followed", document.url)
        self.ask([url])
        return url

    def _refuse(self, kind: str, message: str, url: str) -> str | None:
        """Tell an anomaly; no page to follow (None)."""
        if self.on_anomaly is not None:
            self.on_anomaly(kind, message, url)
        return None


async def _read(response: httpx.Response) -> bytes:
    """A response's body, decoded: a TransientError ("too-large") past MAX_BODY bytes, which are
    never all held, nor all decoded (the body is streamed, and decompressed 1 MiB at most at a
    time, so a gzip bomb costs no more than a body of MAX_BODY bytes); "malformed" for a body
    that cannot be decoded."""
    url = response.url
    too_large = TransientError(f"the response to {url} is larger than {MAX_BODY // 2**20} MiB once decoded: "
                               "refused", "too-large")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if response.is_stream_consumed:  # built with its body, as a mock transport builds it: decoded already
        encoding = "identity"
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise TransientError(f"a body in an encoding not asked for ({encoding}): {url}", "malformed")
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding != "identity" else None  # gzip or zlib
    chunks: list[bytes] = []
    size = 0
    try:
        async for raw in _raw(response):
            while raw:
                piece, raw = (decoder.decompress(raw, min(MAX_BODY + 1 - size, 2**20)), decoder.unconsumed_tail) \
                    if decoder else (raw, b"")
                size += len(piece)
                if size > MAX_BODY:
                    raise too_large
                chunks.append(piece)
        if decoder is not None:
            chunks.append(decoder.flush())
    except zlib.error as exc:
        raise TransientError(f"a {encoding} body that cannot be decoded ({exc}): {url}", "malformed") from None
    return b"".join(chunks)


async def _raw(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as it came, in the pieces it came in (a body read already, in one piece)."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for raw in response.aiter_raw():
        yield raw


def following_pages(document: Document) -> list[str] | None:
    """URLs of the pages after `document`: its `links.next` with page[offset] set to each
    remaining offset up to `meta.count`; None when the links or count do not allow it (or
    promise more than MAX_PAGES pages: those are followed one by one)."""
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
    if count is None or limit < 1 or offset < 0 or (count - offset) / limit > MAX_PAGES:
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


def _page_key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """A page's URL as compared for repeats: host, path and the query's parameters in any order
    (no page[offset] is offset 0)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("page[offset]", "0")
    return parts.netloc.lower(), parts.path, tuple(sorted(query.items()))


def _error_detail(body: bytes) -> str:
    try:
        errors = orjson.loads(body)["errors"]
        return "; ".join(str(e.get("detail") or e.get("title")) for e in errors)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return body[:200].decode("utf-8", "replace")
