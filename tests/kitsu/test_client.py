"""HTTP-level behaviour of the Kitsu client, with respx standing in for the API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import respx

from kitsu_ingest.errors import AuthError, NotFoundError, RequestRejected, TransientError, UnreachableError
from kitsu_ingest.kitsu import KitsuClient

BASE = "https://kitsu.test/api/edge"
PAGE = {"data": [{"id": "1", "type": "users", "attributes": {}}], "meta": {"count": 1}, "links": {}}
NOT_FOUND = {"errors": [{"title": "Record not found", "detail": "The record identified by 9 could not be found.",
                         "code": "404", "status": "404"}]}
TOO_BIG = {"errors": [{"title": "Invalid page value", "detail": "Limit exceeds maximum page size of 20.",
                       "code": "118", "status": "400"}]}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def client(**kwargs: Any) -> KitsuClient:
    options = {"rate": None, "max_attempts": 4, "backoff": (0.001, 0.005), "timeout": 1.0}
    return KitsuClient(BASE, **(options | kwargs))


async def get(path: str, **kwargs: Any) -> tuple[Any, KitsuClient]:
    async with client(**kwargs) as kitsu:
        return await kitsu.get(path), kitsu


@respx.mock
def test_retries_5xx_then_succeeds() -> None:
    route = respx.get(f"{BASE}/users").mock(
        side_effect=[httpx.Response(502), httpx.Response(500), httpx.Response(200, json=PAGE)]
    )
    document, kitsu = run(get("/users"))
    assert route.call_count == 3 and document.count == 1
    assert kitsu.stats.retries == {"5xx": 2} and kitsu.stats.requests == 3


@respx.mock
def test_gives_up_after_max_attempts_with_the_payload() -> None:
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(503, text="upstream down"))
    with pytest.raises(TransientError) as caught:
        run(get("/users", max_attempts=3))
    assert caught.value.cause == "5xx" and caught.value.payload == "upstream down"


@respx.mock
def test_no_retry_on_404_400_401() -> None:
    route = respx.get(f"{BASE}/users/9").mock(return_value=httpx.Response(404, json=NOT_FOUND))
    with pytest.raises(NotFoundError, match="could not be found"):
        run(get("/users/9"))
    assert route.call_count == 1
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(400, json=TOO_BIG))
    with pytest.raises(RequestRejected, match="maximum page size of 20"):
        run(get("/users"))
    respx.get(f"{BASE}/anime").mock(return_value=httpx.Response(401, json={"errors": []}))
    with pytest.raises(AuthError):
        run(get("/anime"))


@respx.mock
def test_honours_retry_after() -> None:
    respx.get(f"{BASE}/users").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200, json=PAGE)]
    )
    started = time.monotonic()
    _, kitsu = run(get("/users"))
    assert time.monotonic() - started >= 1.0
    assert kitsu.stats.retries == {"429": 1}


@respx.mock
def test_429_without_retry_after_slows_the_rate_then_recovers() -> None:
    from kitsu_ingest.kitsu.ratelimit import SLOW_AFTER

    respx.get(f"{BASE}/users").mock(side_effect=[httpx.Response(429)] * SLOW_AFTER + [httpx.Response(200, json=PAGE)])

    async def go() -> list[float | None]:
        async with client(rate=20) as kitsu:
            await kitsu.get("/users")  # the 429s cost no attempt (4): they slowed the client down
            slowed = kitsu.rate.rate
            for _ in range(250):
                kitsu.rate.succeeded(time.monotonic())
            return [slowed, kitsu.rate.rate]

    slowed, recovered = run(go())
    assert slowed == pytest.approx(10) and recovered == 20


@respx.mock
def test_malformed_and_truncated_bodies_are_retried() -> None:
    respx.get(f"{BASE}/users").mock(
        side_effect=[
            httpx.Response(200, text='{"data": [{"id": "1", "ty'),
            httpx.Response(200, text="<html>Cloudflare</html>"),
            httpx.Response(200, json={"nope": 1}),
            httpx.Response(200, json=PAGE),
        ]
    )
    _, kitsu = run(get("/users"))
    assert kitsu.stats.retries == {"malformed": 3}


@respx.mock
def test_timeouts_and_dropped_connections_are_retried() -> None:
    respx.get(f"{BASE}/users").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed"), httpx.Response(200, json=PAGE)]
    )
    _, kitsu = run(get("/users"))
    assert kitsu.stats.retries == {"timeout": 1, "dropped": 1}


@respx.mock
def test_follows_next_links_as_given() -> None:
    first = {"data": [{"id": "1", "type": "users"}], "meta": {"count": 2},
             "links": {"next": f"{BASE}/users?page%5Blimit%5D=1&page%5Boffset%5D=1"}}
    second = {"data": [{"id": "2", "type": "users"}], "meta": {"count": 2}, "links": {}}
    respx.get(f"{BASE}/users", params={"page[offset]": "1"}).mock(return_value=httpx.Response(200, json=second))
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(200, json=first))

    async def go() -> list[str]:
        async with client() as kitsu:
            return [r["id"] async for page in kitsu.pages("/users", {"page[limit]": 1}) for r in page.data]

    assert run(go()) == ["1", "2"]


@respx.mock
def test_brackets_are_percent_encoded() -> None:
    route = respx.get(f"{BASE}/library-entries").mock(return_value=httpx.Response(200, json=PAGE))

    async def go() -> None:
        async with client() as kitsu:
            await kitsu.get("/library-entries", {"filter[userId]": "1,2", "page[limit]": 500})

    run(go())
    assert "filter%5BuserId%5D=1%2C2" in str(route.calls[0].request.url)


@respx.mock
def test_unreachable_host_is_one_clear_error() -> None:
    respx.get(f"{BASE}/users").mock(side_effect=httpx.ConnectError("Name or service not known"))
    with pytest.raises(UnreachableError, match=r"cannot reach https://kitsu\.test/api/edge"):
        run(get("/users"))


@respx.mock
def test_login_sends_the_token_and_refuses_bad_credentials() -> None:
    token = respx.post("https://kitsu.test/api/oauth/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "tok"}),
            httpx.Response(401, json={"error": "invalid_grant"}),
        ]
    )
    users = respx.get(f"{BASE}/users").mock(return_value=httpx.Response(200, json=PAGE))

    async def go(password: str) -> None:
        async with client() as kitsu:
            await kitsu.login("me", password)
            await kitsu.get("/users")

    run(go("secret"))
    assert users.calls[0].request.headers["Authorization"] == "Bearer tok"
    assert b"password=secret" in token.calls[0].request.content
    with pytest.raises(AuthError, match="refused the login") as caught:
        run(go("wrong"))
    assert "wrong" not in str(caught.value)


def test_rate_limit_spaces_requests() -> None:
    async def go() -> float:
        async with client(rate=50) as kitsu:
            started = time.monotonic()
            for _ in range(26):
                await kitsu.rate.acquire()
            return time.monotonic() - started

    assert 0.45 <= run(go()) <= 1.0


def test_following_pages_come_from_next_and_count() -> None:
    from kitsu_ingest.kitsu import Document
    from kitsu_ingest.kitsu.client import following_pages

    next_url = f"{BASE}/library-entries?filter%5BuserId%5D=1%2C2&page%5Blimit%5D=500&page%5Boffset%5D=500"
    document = Document(url="", data=[], links={"next": next_url}, meta={"count": 1234})
    urls = following_pages(document)
    assert urls is not None and len(urls) == 2 and urls[0] == next_url
    assert urls[1].endswith("page%5Blimit%5D=500&page%5Boffset%5D=1000")
    assert following_pages(Document(url="", data=[], links={}, meta={"count": 3})) == []
    cursor = Document(url="", data=[], links={"next": f"{BASE}/x?page%5Bcursor%5D=abc"}, meta={"count": 9})
    assert following_pages(cursor) is None


@respx.mock
def test_pages_fetches_the_rest_at_once() -> None:
    def page(offset: int) -> dict[str, Any]:
        links = {"next": f"{BASE}/users?page%5Blimit%5D=2&page%5Boffset%5D=2"} if offset == 0 else {}
        return {"data": [{"id": str(offset + i), "type": "users"} for i in range(2) if offset + i < 5],
                "meta": {"count": 5}, "links": links}

    for offset in (2, 4):
        respx.get(f"{BASE}/users", params={"page[offset]": str(offset)}).mock(
            return_value=httpx.Response(200, json=page(offset)))
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(200, json=page(0)))

    async def go() -> list[str]:
        async with client() as kitsu:
            return [r["id"] async for doc in kitsu.pages("/users", {"page[limit]": 2}) for r in doc.data]

    assert sorted(run(go())) == ["0", "1", "2", "3", "4"]


@respx.mock
def test_the_token_goes_only_to_the_base_urls_origin() -> None:
    token = httpx.Response(200, json={"access_token": "tok"})
    respx.post("https://kitsu.test/api/oauth/token").mock(return_value=token)
    first = {"data": [{"id": "1", "type": "users"}], "meta": {"count": 3},
             "links": {"next": "http://kitsu.test/api/edge/users?page%5Blimit%5D=1&page%5Boffset%5D=1"}}
    plain_http = {"data": [{"id": "2", "type": "users"}], "meta": {"count": 3},
                  "links": {"next": "https://kitsu.test:443/api/edge/users?page%5Blimit%5D=1&page%5Boffset%5D=2"}}
    last = {"data": [{"id": "3", "type": "users"}], "meta": {"count": 3}, "links": {}}
    home = respx.get(f"{BASE}/users").mock(side_effect=[httpx.Response(200, json=first),
                                                        httpx.Response(200, json=last)])
    other_scheme = respx.get("http://kitsu.test/api/edge/users").mock(return_value=httpx.Response(200, json=plain_http))
    evil = respx.get("https://evil.test/api/edge/users").mock(return_value=httpx.Response(200, json=last))

    async def go() -> list[str]:
        async with client() as kitsu:
            await kitsu.login("me", "secret")
            ids = [r["id"] for r in (await kitsu.get("/users", {"page[limit]": 1})).data]
            document = await kitsu.get(first["links"]["next"])
            while True:
                ids += [r["id"] for r in document.data]
                if not document.next:
                    break
                document = await kitsu.get(document.next)
            with pytest.raises(RequestRejected, match=r"refused https://evil\.test/.*not on the API's host"):
                await kitsu.get("https://evil.test/api/edge/users")
            return ids

    assert run(go()) == ["1", "2", "3"]
    # Another scheme of the same host is asked without the token ...
    assert "Authorization" not in other_scheme.calls[0].request.headers
    # ... the base URL's origin, its default port spelled out or not, gets it, and another host nothing.
    assert [c.request.headers.get("Authorization") for c in home.calls] == ["Bearer tok", "Bearer tok"]
    assert str(home.calls[1].request.url).endswith("page%5Boffset%5D=2")  # the link that named :443
    assert not evil.called


@respx.mock
def test_anonymous_requests_carry_no_authorization() -> None:
    route = respx.get(f"{BASE}/users").mock(return_value=httpx.Response(200, json=PAGE))
    run(get("/users"))
    assert "Authorization" not in route.calls[0].request.headers
